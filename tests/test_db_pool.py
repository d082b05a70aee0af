"""Pooled PostgreSQL connections without pool_pre_ping (extensions.PING_AFTER_IDLE):
a connection that sat idle is pinged and replaced when dead; a busy one is not
pinged, and the intake retries once when it turns out dead."""
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from notifier import extensions
from notifier.extensions import db
from notifier.models import Event

from .webhook_signing import example, post_event


@pytest.fixture
def pg(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("server connections only (a SQLite file needs no ping)")
    return app


def _pooled_backend_pid(app) -> int:
    """The backend of the one connection the test client's requests use."""
    db.engine.dispose()
    with db.engine.connect() as conn:
        return conn.execute(text("select pg_backend_pid()")).scalar_one()


def _terminate(app, pid: int) -> None:
    """Ends that backend as a server restart would, from outside the pool."""
    outside = create_engine(db.engine.url, poolclass=NullPool)
    with outside.connect() as conn:
        assert conn.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    outside.dispose()


def test_a_recently_used_connection_is_not_pinged_so_intake_retries(pg, client):
    pid = _pooled_backend_pid(pg)
    _terminate(pg, pid)
    # The dead connection is checked out without a ping (it was used just now):
    # the INSERT fails as a disconnect and the intake stores the event on a fresh one.
    assert post_event(client, example("missed-internal")).status_code == 202
    with pg.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 1


def test_an_idle_connection_is_pinged_and_replaced_when_dead(pg, client, monkeypatch):
    pid = _pooled_backend_pid(pg)
    _terminate(pg, pid)
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE", 0.0)  # every checkout counts as idle
    with pg.app_context():
        assert db.session.scalar(text("select pg_backend_pid()")) != pid
