"""Effective settings: environment first, then UI-saved values, then defaults."""
import pytest

from notifier.config import InstanceSecrets
from notifier.core.workhours import Schedule
from notifier.extensions import db
from notifier.services import settings


def test_mail_from_ui_until_environment_sets_it(app):
    assert settings.mail().configured is False
    settings.put(settings.MAIL_KEY, {"server": "smtp.ui", "port": 2525, "sender": "pbx@ui", "use_tls": True})
    db.session.commit()
    m = settings.mail()
    assert (m.server, m.port, m.sender, m.use_tls, m.configured) == ("smtp.ui", 2525, "pbx@ui", True, True)
    app.config.update(MAIL_FROM_ENV=["MAIL_SERVER"], MAIL_SERVER="smtp.env")
    m = settings.mail()
    assert (m.server, m.port, m.from_env) == ("smtp.env", 2525, ("MAIL_SERVER",))


def test_telegram_token_environment_wins(app):
    assert settings.telegram().configured is False
    settings.put(settings.TELEGRAM_KEY, {"token": "1:ui", "username": "ui_bot"})
    db.session.commit()
    assert (settings.telegram().token, settings.telegram().username) == ("1:ui", "ui_bot")
    app.config["TELEGRAM_BOT_TOKEN"] = "2:env"
    t = settings.telegram()
    assert (t.token, t.token_from_env) == ("2:env", True)


def test_schedule_default_and_saved(app):
    assert settings.schedule() == Schedule.default("Europe/Moscow")
    saved = Schedule.default("Asia/Yekaterinburg").to_json()
    settings.put(settings.SCHEDULE_KEY, saved)
    db.session.commit()
    assert settings.schedule().timezone == "Asia/Yekaterinburg"


def test_regenerated_webhook_secret_is_seen_by_every_process(app):
    app.config["WEBHOOK_SECRET_FROM_ENV"] = False
    new = settings.regenerate_webhook_secret()
    assert new.startswith("whsec_") and settings.webhook_secret() == new
    # another process reads the instance file, not its own startup config
    assert InstanceSecrets(app.instance_path).get("WEBHOOK_SECRET", lambda: "x") == new
    app.config["WEBHOOK_SECRET_FROM_ENV"] = True
    with pytest.raises(RuntimeError):
        settings.regenerate_webhook_secret()


def test_company_timezone_follows_working_hours(app):
    from notifier.core.workhours import Schedule
    from notifier.services import settings

    assert settings.company_timezone() == app.config["TIMEZONE"]
    settings.put(settings.SCHEDULE_KEY, Schedule.default("Asia/Yekaterinburg").to_json())
    db.session.commit()
    with app.app_context():  # read once per context: the next request sees the change
        assert settings.company_timezone() == "Asia/Yekaterinburg"
