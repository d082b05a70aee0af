"""The app factory, configuration and security defaults."""
import json

import pytest

from notifier import create_app
from notifier.config import database_url


def test_generated_secrets_are_kept_in_instance(tmp_path, monkeypatch):
    for key in ("SECRET_KEY", "WEBHOOK_SECRET"):
        monkeypatch.delenv(key, raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)})
    second = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.config["WEBHOOK_SECRET"] == second.config["WEBHOOK_SECRET"]
    assert first.config["WEBHOOK_SECRET"].startswith("whsec_")
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert stored["WEBHOOK_SECRET"] == first.config["WEBHOOK_SECRET"]
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBHOOK_SECRET", "whsec_ZnJvbS1lbnY=")
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "@office_bot")
    monkeypatch.setenv("RECORDING_URL_HOSTS", "pbx.example.net, Files.Example.com")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.com")
    monkeypatch.setenv("MAIL_PORT", "587")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["WEBHOOK_SECRET"] == "whsec_ZnJvbS1lbnY="
    assert app.config["WEBHOOK_SECRET_FROM_ENV"] is True
    assert app.config["TELEGRAM_BOT_USERNAME"] == "office_bot"
    assert app.config["RECORDING_URL_HOSTS"] == ["pbx.example.net", "files.example.com"]
    assert (app.config["MAIL_SERVER"], app.config["MAIL_PORT"], app.config["MAIL_USE_TLS"]) == ("smtp.example.com", 587, True)
    assert app.config["TIMEZONE"] == "Europe/Moscow"


@pytest.mark.parametrize("raw, expected", [
    (None, "sqlite:////inst/notifier.db"),
    ("postgresql://postgres@127.0.0.1:5432/x", "postgresql+psycopg://postgres@127.0.0.1:5432/x"),
    ("postgres://u:p@db/x", "postgresql+psycopg://u:p@db/x"),
    ("postgresql+psycopg://u@db/x", "postgresql+psycopg://u@db/x"),
    ("sqlite:////data/n.db", "sqlite:////data/n.db"),
])
def test_database_url(raw, expected):
    assert database_url(raw, "/inst") == expected


def test_security_headers(client):
    resp = client.get("/login")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


def test_session_cookie_flags(auth_client, app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    cookie = auth_client.get_cookie("session")
    assert cookie is not None and cookie.http_only


def test_unknown_page_is_a_plain_404(auth_client):
    resp = auth_client.get("/no-such-page")
    assert resp.status_code == 404
    assert "Страница не найдена" in resp.get_data(as_text=True)


def test_unexpected_error_shows_no_traceback(app, admin, request):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    resp = request.getfixturevalue("auth_client").get("/boom")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "secret internals" not in body and "Traceback" not in body


def test_htmx_is_vendored_and_served(client):
    resp = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert resp.status_code == 200
    assert b'version:"2.0.11"' in resp.data


def test_layout_navigation_in_russian(auth_client):
    html = auth_client.get("/").get_data(as_text=True)
    for label in ("Инструменты", "Email-уведомления", "Абоненты", "Записная книжка клиентов",
                  "Рабочее время", "Журнал", "Настройки"):
        assert label in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "cdn" not in html.lower()


def test_rules_page_empty_state(auth_client):
    html = auth_client.get("/").get_data(as_text=True)
    assert "Уведомления отключены" in html
    assert "Добавьте абонентов, которые будут получать уведомления о пропущенных звонках согласно указанным критериям" in html
    assert "Добавить правило" in html
