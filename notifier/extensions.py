"""Flask extensions, created unbound and wired in create_app() with init_app()."""
from __future__ import annotations

import time
from pathlib import Path

from flask.cli import AppGroup
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase

from notifier import sqlite_writers

# Named constraints so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
mail = Mail()


def _sqlite_connection(dbapi_connection, _record) -> None:
    """SQLite as the product needs it: foreign keys (cascades) enforced, WAL so
    the web and worker processes do not block each other, and a Unicode
    ``lower()`` so search is case-insensitive in Russian too."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL + synchronous=NORMAL: a commit appends to the WAL without an fsync
    # (the WAL is synced at checkpoints). A committed event survives any crash
    # of our processes (the data is in the OS page cache, written back by the
    # kernel); only a power loss or kernel crash may lose the last commits
    # before a checkpoint. FULL would fsync on every commit.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    path = next((row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main"), "")
    cursor.close()
    if path and isinstance(dbapi_connection, sqlite_writers.Connection):  # "" is an in-memory database
        dbapi_connection.writer_lock = sqlite_writers.lock_for(path)
    dbapi_connection.create_function(
        "lower", 1, lambda s: s.lower() if isinstance(s, str) else s, deterministic=True
    )


# A pooled server connection (PostgreSQL) is checked with a SELECT 1 only when
# it sat idle this long: the server may have restarted or dropped it meanwhile.
# Under load connections come back within milliseconds and are not pinged, so
# the hot path pays no round trip per request (pool_pre_ping's cost). A
# connection that breaks anyway raises a disconnect error on its first use;
# SQLAlchemy then discards the pool's older connections (intake retries once).
PING_AFTER_IDLE = 1.0


def _mark_used(_dbapi_connection, record) -> None:
    record.info["used_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    used_at = record.info.get("used_at")
    if used_at is not None and time.monotonic() - used_at < PING_AFTER_IDLE:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    except Exception as err:  # the pool replaces the connection and checks out again
        raise DisconnectionError(str(err)) from err


def init_db(app) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["connect_args"] = {"factory": sqlite_writers.Connection, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            # A SQLite connection is a local file: nothing to ping.
            event.listen(engine, "connect", _sqlite_connection)
            event.listen(engine, "before_cursor_execute", sqlite_writers.before_write)
        elif not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
            event.listen(engine, "connect", _mark_used)
            event.listen(engine, "checkin", _mark_used)
            event.listen(engine, "checkout", _ping_if_idle)


MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


class _Extensions(dict):
    """``app.extensions`` that sets Flask-Migrate up on first use (``flask_migrate.upgrade()``
    and friends look it up there): it imports Alembic and Mako, about 11 MB in every process,
    which only migrations need, never the web server or the worker (issue 17)."""

    def __init__(self, app, *args):
        super().__init__(*args)
        self._app = app

    def __missing__(self, key):
        if key != "migrate":
            raise KeyError(key)
        from flask_migrate import Migrate

        Migrate(self._app, db, directory=MIGRATIONS, render_as_batch=True)  # sets self["migrate"]
        return dict.__getitem__(self, key)


class _Cli(AppGroup):
    """``app.cli`` whose ``flask db ...`` group (Flask-Migrate's) is loaded when asked for."""

    def __init__(self, app):
        super().__init__()
        self._app = app

    def get_command(self, ctx, name):
        if name == "db" and name not in self.commands:
            self._app.extensions["migrate"]  # registers the group on this app.cli
        return super().get_command(ctx, name)

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), "db"})


def init_migrate(app) -> None:
    """Migrations for ``app``, wired lazily (see _Extensions)."""
    app.extensions = _Extensions(app, app.extensions)
    cli = _Cli(app)
    cli.commands.update(app.cli.commands)
    app.cli = cli
