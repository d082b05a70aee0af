"""Data steps of migrations, run on a database of an older version: a fresh
SQLite file, or on PostgreSQL (DATABASE_URL) a fresh database beside the suite's."""
import json
import os

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from notifier import create_app
from notifier.config import database_url
from notifier.extensions import db
from notifier.services import settings

OLD_MAIL = {"server": "smtp.example", "port": 587, "username": "robot", "password": "old-clear-password"}


@pytest.fixture
def empty_database(tmp_path):
    raw = os.environ.get("DATABASE_URL")
    if not raw:
        yield "sqlite:///" + str(tmp_path / "old.db")
        return
    url = sa.make_url(database_url(raw, str(tmp_path)))
    name = f"{url.database}_migrations"
    server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def test_upgrade_gives_admins_a_session_nonce_and_encrypts_clear_credentials(empty_database, tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database,
                      "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "migration-test-key"})
    with app.app_context():
        upgrade(revision="0001")
        stamp = "2026-01-01 00:00:00"
        for email in ("a@example.com", "b@example.com"):
            db.session.execute(text("INSERT INTO users (email, password_hash, created_at, updated_at) "
                                    "VALUES (:e, 'scrypt:x', :t, :t)"), {"e": email, "t": stamp})
        db.session.execute(text("INSERT INTO settings (key, value, updated_at) VALUES (:k, :v, :t)"), [
            {"k": "mail", "v": json.dumps(OLD_MAIL), "t": stamp},
            {"k": "telegram_webhook_secret", "v": json.dumps("old-webhook-secret"), "t": stamp},
            {"k": "schedule", "v": json.dumps({"timezone": "Europe/Moscow"}), "t": stamp}])
        db.session.commit()

        upgrade()
        nonces = db.session.scalars(text("SELECT session_nonce FROM users")).all()
        assert len(set(nonces)) == 2 and all(len(n) >= 32 for n in nonces)
        raw = dict(db.session.execute(text("SELECT key, CAST(value AS TEXT) FROM settings")).all())
        assert "old-clear-password" not in raw["mail"] and "old-webhook-secret" not in raw["telegram_webhook_secret"]
        assert "Europe/Moscow" in raw["schedule"]
        assert settings.get("mail") == OLD_MAIL
        assert settings.get("telegram_webhook_secret") == "old-webhook-secret"

        db.session.remove()
        downgrade(revision="0001")
        raw = dict(db.session.execute(text("SELECT key, CAST(value AS TEXT) FROM settings")).all())
        assert json.loads(raw["mail"]) == OLD_MAIL
        assert "session_nonce" not in {c["name"] for c in inspect(db.engine).get_columns("users")}
        db.session.remove()
        db.engine.dispose()
