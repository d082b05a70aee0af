"""Credentials in the settings table are encrypted with a key that is not in
the database (issue 12, item 4): a dump shows no SMTP password, bot token or
Telegram webhook secret, the app still uses them, and rows saved in clear by
older versions keep working until migration 0003 encrypts them."""
import logging

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from notifier import create_app, stored_secrets
from notifier.extensions import db
from notifier.services import settings
from notifier.telegram import bot as telegram_bot
from tests.factories import subscriber
from tests.fakes.smtp_server import FakeSMTP
from tests.test_views_settings import mail_form

SMTP_PASSWORD = "smtp-pa$$word-zima-2026"


def raw_settings() -> dict[str, str]:
    """The settings table as a dump or a backup sees it."""
    rows = db.session.execute(text("SELECT key, CAST(value AS TEXT) FROM settings")).all()
    return dict(rows)


def dump_of(app) -> str:
    with app.app_context():
        return "\n".join(f"{k} {v}" for k, v in raw_settings().items())


def other_app(app, **config):
    """Another process of the same installation (same database), maybe with other keys."""
    keys = ("TESTING", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "SECRET_KEY", "API_TOKEN",
            "WEBHOOK_SECRET", "WEBHOOK_SECRET_FROM_ENV", "SERVER_NAME", "INSTANCE_PATH")
    base = {k: app.config[k] for k in keys if k != "INSTANCE_PATH"}
    return create_app({**base, "INSTANCE_PATH": app.instance_path, **config})


def test_smtp_password_saved_in_the_ui_is_encrypted_and_still_logs_in(app, auth_client):
    with FakeSMTP(credentials=("robot", SMTP_PASSWORD)) as smtp:
        resp = auth_client.post("/settings/mail", data=mail_form(
            auth_client.csrf_token, **{"mail-server": smtp.host, "mail-port": str(smtp.port),
                                       "mail-username": "robot", "mail-password": SMTP_PASSWORD}))
        assert resp.status_code == 302
        dump = dump_of(app)
        assert "robot" in dump and '"$fernet"' in dump  # the row is there, its password sealed
        assert SMTP_PASSWORD not in dump and "zima" not in dump

        auth_client.post("/settings/mail/test", data={"csrf_token": auth_client.csrf_token,
                                                      "mailtest-to": "boss@example.com"})
        smtp.wait_for(1)
        assert smtp.logins == ["robot"]  # the server accepted the decrypted password


def test_bot_token_saved_in_the_ui_is_encrypted_and_the_bot_still_works(app, auth_client, fake_telegram):
    app.config["TELEGRAM_API_URL"] = fake_telegram.url
    resp = auth_client.post("/settings/telegram", data={"csrf_token": auth_client.csrf_token,
                                                        "tg-token": fake_telegram.token})
    assert resp.status_code == 302
    dump = dump_of(app)
    assert "notifier_test_bot" in dump and fake_telegram.token not in dump
    assert fake_telegram.token.split(":")[1] not in dump  # nor its secret half

    sid = subscriber(email=None, chat_id=555001).id
    auth_client.post("/settings/telegram/test", data={"csrf_token": auth_client.csrf_token, "tgtest-subscriber": sid})
    [sent] = fake_telegram.wait_for(1)  # the fake API answers only to the right token
    assert "Тестовое сообщение" in sent["text"]


def test_telegram_webhook_secret_is_encrypted(app):
    with app.app_context():
        settings.put(telegram_bot.WEBHOOK_SECRET_KEY, "tg-webhook-secret-0123456789")
        db.session.commit()
        assert "tg-webhook-secret-0123456789" not in raw_settings()[telegram_bot.WEBHOOK_SECRET_KEY]
        assert telegram_bot.webhook_secret() == "tg-webhook-secret-0123456789"


def test_the_list_of_credentials_names_the_real_setting_keys():
    assert set(stored_secrets.SECRET_FIELDS) == {
        settings.MAIL_KEY, settings.TELEGRAM_KEY, telegram_bot.WEBHOOK_SECRET_KEY, settings.PBX_KEY}


def test_other_settings_stay_plain_json(app):
    with app.app_context():
        settings.put(settings.SCHEDULE_KEY, {"timezone": "Asia/Yekaterinburg"})
        db.session.commit()
        assert "Asia/Yekaterinburg" in raw_settings()[settings.SCHEDULE_KEY]


def test_rows_saved_in_clear_before_keep_working_and_get_encrypted(app):
    """A database from before encryption: the app reads the clear rows, and the
    migration's step (0003) seals them without changing what the app reads."""
    clear = {"server": "smtp.example", "port": 587, "username": "robot", "password": SMTP_PASSWORD}
    with app.app_context():
        # written as the old model did: plain JSON, no encryption
        db.session.execute(text("INSERT INTO settings (key, value, updated_at) VALUES (:k, :v, :t)"),
                           [{"k": settings.MAIL_KEY, "v": '{"server": "smtp.example", "port": 587, '
                             f'"username": "robot", "password": "{SMTP_PASSWORD}"}}', "t": "2026-01-01 00:00:00"},
                            {"k": settings.TELEGRAM_KEY, "v": '{"token": "123:OLD-TOKEN", "username": "b"}',
                             "t": "2026-01-01 00:00:00"}])
        db.session.commit()
        assert settings.mail().password == SMTP_PASSWORD
        assert settings.telegram().token == "123:OLD-TOKEN"

        with db.engine.begin() as conn:
            assert stored_secrets.seal_stored_rows(conn) == 2
        with db.engine.begin() as conn:
            assert stored_secrets.seal_stored_rows(conn) == 0  # already sealed: left alone
        db.session.expire_all()
        dump = "\n".join(raw_settings().values())
        assert SMTP_PASSWORD not in dump and "OLD-TOKEN" not in dump
        assert settings.get(settings.MAIL_KEY) == clear
        assert settings.telegram().token == "123:OLD-TOKEN"

        with db.engine.begin() as conn:  # downgrade
            assert stored_secrets.open_stored_rows(conn) == 2
        db.session.expire_all()
        assert SMTP_PASSWORD in raw_settings()[settings.MAIL_KEY]


def test_the_key_is_not_in_the_database(app, caplog):
    """Another installation's SECRET_KEY (a stolen dump) cannot open the values;
    the app then treats them as not set (to be entered again), never a 500."""
    with app.app_context():
        settings.put(settings.MAIL_KEY, {"server": "smtp.example", "password": SMTP_PASSWORD})
        db.session.commit()
    stranger = other_app(app, SECRET_KEY="another-installation-secret")
    with stranger.app_context(), caplog.at_level(logging.WARNING):
        assert settings.mail().server == "smtp.example"
        assert settings.mail().password is None
    assert "cannot be decrypted" in caplog.text
    with stranger.app_context():
        db.engine.dispose()


def test_an_explicit_key_takes_over_and_old_values_stay_readable(app):
    key = Fernet.generate_key().decode()
    with app.app_context():
        settings.put(settings.TELEGRAM_KEY, {"token": "1:derived-key-token", "username": "b"})
        db.session.commit()
    explicit = other_app(app, SETTINGS_ENCRYPTION_KEY=key)
    with explicit.app_context():
        assert settings.telegram().token == "1:derived-key-token"  # sealed with the derived key
        settings.put(settings.MAIL_KEY, {"server": "smtp.example", "password": SMTP_PASSWORD})
        db.session.commit()
        assert settings.mail().password == SMTP_PASSWORD
    with app.app_context():  # without the explicit key that value is closed
        assert settings.mail().password is None
    with explicit.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("raw", ["not-a-key", "x" * 44, Fernet.generate_key().decode() + ",oops"])
def test_a_malformed_explicit_key_stops_the_start(tmp_path, raw):
    from notifier.config import from_environment

    with pytest.raises(ValueError, match="SETTINGS_ENCRYPTION_KEY"):
        from_environment(str(tmp_path), {"SETTINGS_ENCRYPTION_KEY": raw, "SECRET_KEY": "k"})
