"""Settings, «Подключение АТС» (notifier.web.views.pbx): a card per PBX of the
registry with its address from PUBLIC_URL, credentials saved / masked /
read-only from the environment, the last request's outcome and counters,
files to download; built from the registry alone (the demo vendor gets a card
without any page code)."""
from __future__ import annotations

import re

import pytest

from notifier.pbx import registry
from notifier.pbx.base import Credential, Vendor
from notifier.services import settings

from .pbx_helpers import DEMO, configure_pbx, use_vendor


def page(client) -> str:
    resp = client.get("/settings/")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def card(html: str, slug: str) -> str:
    match = re.search(rf'<details class="pbx-card" id="pbx-{slug}".*?</details>', html, re.S)
    assert match, f"no card for {slug}"
    return match.group(0)


@pytest.fixture
def demo(monkeypatch):
    use_vendor(monkeypatch, DEMO)


def saved(app) -> dict:
    with app.app_context():
        return settings.get(settings.PBX_KEY) or {}


def test_every_pbx_of_the_registry_has_a_card_and_the_json_webhook_stays(app, auth_client):
    html = page(auth_client)
    assert 'href="#pbx">Подключение АТС' in html and "Webhook АТС" not in html
    for vendor in registry.VENDORS:
        assert vendor.title.replace("/", "/") in html or vendor.title in html
        card(html, vendor.slug)
    assert "Свой JSON (Standard Webhooks)" in html and 'id="events-url"' in html
    assert "PUBLIC_URL" in html  # the addresses are this request's until PUBLIC_URL is set


def test_addresses_come_from_public_url(app, auth_client, demo):
    app.config["PUBLIC_URL"] = "https://pbx-notify.example.ru"
    html = page(auth_client)
    assert 'value="https://pbx-notify.example.ru/api/v1/pbx/demo"' in card(html, "demo")
    assert 'value="https://pbx-notify.example.ru/api/v1/events"' in html
    assert "задайте его в переменной окружения" not in html


def test_save_credentials_masked_then_kept_when_left_empty(app, auth_client, demo):
    resp = auth_client.post("/settings/pbx/demo", data={"csrf_token": auth_client.csrf_token,
                                                        "pbx-demo-DEMO_TOKEN": "demo-secret-token-123"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#pbx-demo")
    assert saved(app) == {"DEMO_TOKEN": "demo-secret-token-123"}
    html = card(page(auth_client), "demo")
    assert "demo-secret-token-123" not in html and "demo…-123" in html
    assert "настроено, запросов ещё не было" in html
    # an empty secret field keeps the saved one
    auth_client.post("/settings/pbx/demo", data={"csrf_token": auth_client.csrf_token, "pbx-demo-DEMO_TOKEN": ""})
    assert saved(app) == {"DEMO_TOKEN": "demo-secret-token-123"}


def test_clear_forgets_the_saved_credentials(app, auth_client, demo):
    configure_pbx(app, DEMO_TOKEN="demo-secret-token-123", OTHER="kept")
    auth_client.post("/settings/pbx/demo/clear", data={"csrf_token": auth_client.csrf_token})
    assert saved(app) == {"OTHER": "kept"}
    assert "не подключена" in card(page(auth_client), "demo")


@pytest.mark.parametrize("value, message", [
    ("x" * 257, "Не длиннее 256 символов"),
    (" padded ", "Без пробелов по краям"),
    ("bad\x01char", "управляющих символов"),
])
def test_invalid_credentials_are_422_and_nothing_saved(app, auth_client, demo, value, message):
    resp = auth_client.post("/settings/pbx/demo", data={"csrf_token": auth_client.csrf_token,
                                                        "pbx-demo-DEMO_TOKEN": value})
    assert resp.status_code == 422
    assert message in card(resp.get_data(as_text=True), "demo")
    assert saved(app) == {}


def test_environment_credential_is_read_only_and_masked(app, auth_client, demo):
    app.config["DEMO_TOKEN"] = "env-token-0123456789"
    html = card(page(auth_client), "demo")
    assert "env-token-0123456789" not in html and "env-…6789" in html
    assert "Задано в окружении (DEMO_TOKEN)" in html and 'name="pbx-demo-DEMO_TOKEN"' not in html
    auth_client.post("/settings/pbx/demo", data={"csrf_token": auth_client.csrf_token,
                                                 "pbx-demo-DEMO_TOKEN": "other-token-value"})
    assert saved(app) == {}


def test_last_request_and_counters_are_shown(app, client, auth_client, demo):
    configure_pbx(app, DEMO_TOKEN="demo-token-1")
    client.post("/api/v1/pbx/demo", data={"token": "wrong", "call": "c1", "to": "102"})
    client.post("/api/v1/pbx/demo", data={"token": "demo-token-1", "call": "c1", "to": "102"})
    client.post("/api/v1/pbx/demo", data={"token": "<script>", "call": "c1", "to": "102"})
    html = card(page(auth_client), "demo")
    assert "неверная подпись или токен" in html
    assert re.search(r"принят — 1; неверная подпись или токен — 2", html)
    assert "Демо-АТС не отличает" in html and "Вставьте адрес в кабинет демо-АТС." in html


def test_a_vendor_file_is_built_with_the_address_and_credentials(app, auth_client, demo):
    assert "станет доступно после сохранения настроек" in card(page(auth_client), "demo")
    resp = auth_client.get("/settings/pbx/demo/files/demo.conf")
    assert resp.status_code == 302  # not configured yet: back to the card with a message
    configure_pbx(app, DEMO_TOKEN="demo-token-1")
    app.config["PUBLIC_URL"] = "https://pbx-notify.example.ru"
    resp = auth_client.get("/settings/pbx/demo/files/demo.conf")
    assert resp.status_code == 200
    assert resp.get_data(as_text=True) == "url=https://pbx-notify.example.ru/api/v1/pbx/demo\ntoken=demo-token-1\n"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="demo.conf"'
    assert resp.headers["Cache-Control"] == "no-store"
    assert auth_client.get("/settings/pbx/demo/files/nosuch").status_code == 404


def test_unknown_or_unavailable_vendors_are_404(auth_client, monkeypatch):
    use_vendor(monkeypatch, Vendor(slug="soon", title="Скоро", credentials=(Credential("SOON_KEY", "Ключ"),)))
    csrf = {"csrf_token": auth_client.csrf_token}
    assert auth_client.post("/settings/pbx/nosuch", data=csrf).status_code == 404
    assert auth_client.post("/settings/pbx/soon", data=csrf).status_code == 404  # adapter not written yet


def test_pbx_settings_need_login_and_csrf(app, client, auth_client, demo):
    assert client.post("/settings/pbx/demo", data={"pbx-demo-DEMO_TOKEN": "x"}).status_code in (302, 400)
    configure_pbx(app, DEMO_TOKEN="demo-token-1")
    resp = client.get("/settings/pbx/demo/files/demo.conf")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    configure_pbx(app, DEMO_TOKEN=None)
    resp = auth_client.post("/settings/pbx/demo", data={"pbx-demo-DEMO_TOKEN": "demo-token-1"})
    assert resp.status_code == 400
    assert saved(app) == {}


# -- 3CX ------------------------------------------------------------------------------


def test_3cx_card_saves_a_token_and_offers_the_template(app, auth_client):
    html = card(page(auth_client), "3cx")
    assert "не подключена" in html and "станет доступно после сохранения настроек" in html
    assert "Missed" in html  # what 3CX cannot tell apart is said
    resp = auth_client.post("/settings/pbx/3cx", data={"csrf_token": auth_client.csrf_token,
                                                       "pbx-3cx-THREECX_TOKEN": "short"})
    assert resp.status_code == 422 and "От 16 до 128 символов" in card(resp.get_data(as_text=True), "3cx")
    token = "tok-3cx-0123456789abcdef"
    auth_client.post("/settings/pbx/3cx", data={"csrf_token": auth_client.csrf_token, "pbx-3cx-THREECX_TOKEN": token})
    html = card(page(auth_client), "3cx")
    assert token not in html and 'download>Скачать шаблон для 3CX</a>' in html
    app.config["PUBLIC_URL"] = "https://pbx-notify.example.ru"
    resp = auth_client.get("/settings/pbx/3cx/files/3cx-notifier-template.xml")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    xml = resp.get_data(as_text=True)
    assert 'Default="https://pbx-notify.example.ru/api/v1/pbx/3cx"' in xml and f'Default="{token}"' in xml


def test_saved_pbx_secrets_are_encrypted_in_the_database(app, auth_client):
    from sqlalchemy import text

    from notifier.extensions import db

    token = "tok-3cx-0123456789abcdef"
    auth_client.post("/settings/pbx/3cx", data={"csrf_token": auth_client.csrf_token, "pbx-3cx-THREECX_TOKEN": token})
    stored = db.session.execute(text("SELECT value FROM settings WHERE key = 'pbx'")).scalar_one()
    assert token not in str(stored) and "$fernet" in str(stored)
    with app.app_context():
        assert settings.pbx_credentials(registry.THREECX).get("THREECX_TOKEN") == token


# -- MegaFon ВАТС (API для CRM) ----------------------------------------------------------


def test_vats_card_gives_the_address_saves_the_key_and_says_what_it_cannot_tell_apart(app, auth_client):
    app.config["PUBLIC_URL"] = "https://pbx-notify.example.ru"
    html = card(page(auth_client), "vats")
    assert "https://pbx-notify.example.ru/api/v1/pbx/vats" in html and "Интеграция с CRM" in html
    assert "missed" in html and "Голосовой почты в этом API нет" in html  # the limits text
    resp = auth_client.post("/settings/pbx/vats", data={"csrf_token": auth_client.csrf_token,
                                                        "pbx-vats-VATS_CRM_TOKEN": "short"})
    assert resp.status_code == 422 and "От 8 до 256 символов" in card(resp.get_data(as_text=True), "vats")
    key = "crm-token-0123456789"
    auth_client.post("/settings/pbx/vats", data={"csrf_token": auth_client.csrf_token, "pbx-vats-VATS_CRM_TOKEN": key})
    assert saved(app) == {"VATS_CRM_TOKEN": key} and key not in card(page(auth_client), "vats")


# -- Mango Office ------------------------------------------------------------------------


def test_mango_card_takes_the_key_and_salt_and_says_what_mango_cannot_tell(app, auth_client):
    app.config["PUBLIC_URL"] = "https://pbx-notify.example.ru"
    html = card(page(auth_client), "mango")
    assert "API коннектор" in html and 'value="https://pbx-notify.example.ru/api/v1/pbx/mango"' in html
    assert "1110" in html and "голосов" in html  # what Mango's data cannot tell apart is said
    auth_client.post("/settings/pbx/mango", data={"csrf_token": auth_client.csrf_token,
                                                  "pbx-mango-MANGO_API_KEY": "1234567890qwerty",
                                                  "pbx-mango-MANGO_API_SALT": "salt-0123456789abcdef"})
    html = card(page(auth_client), "mango")
    assert "настроено" in html and "salt-0123456789abcdef" not in html and "1234567890qwerty" in html
    assert saved(app) == {"MANGO_API_KEY": "1234567890qwerty", "MANGO_API_SALT": "salt-0123456789abcdef"}
