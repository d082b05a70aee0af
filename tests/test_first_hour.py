"""Issue 14, the self-hoster's first hour: the test event (CLI and button) through
the real intake and worker to the SMTP server, the webhook secret on demand,
the loopback-address warning, the rule dialog's channel warning, the favicon,
and `make web` on HOST/PORT."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
import requests
from sqlalchemy import select

from notifier.core.addresses import is_loopback_url
from notifier.extensions import db
from notifier.models import Decision, Delivery, Event
from notifier.services import settings
from tests.conftest import ROOT, WEBHOOK_SECRET
from tests.factories import configure_mail, rule, subscriber
from tests.processes import free_port, wait_until_serving

# -- the test event ------------------------------------------------------------------


def test_cli_send_test_event_goes_through_intake_and_the_worker_to_smtp(app, smtp_server, run_worker):
    configure_mail(smtp_server)
    employee = subscriber("101", name="Петров Пётр", email="petrov@example.com")
    rule(employee.id)
    result = app.test_cli_runner().invoke(args=["send-test-event", "--to", "101"])
    assert result.exit_code == 0, result.output
    event = db.session.scalar(select(Event))
    assert event.event_id.startswith("test-") and event.type == "call.ended" and event.callee_key == "101"
    assert event.queued_at is not None  # stored and queued like a PBX's event
    assert f"event {event.event_id} accepted (202): http://127.0.0.1:8000/log/{event.id}" in result.output
    assert "no employee" not in result.output

    run_worker()
    [decision] = db.session.scalars(select(Decision)).all()
    assert decision.notify and decision.reason == "notify"
    [msg] = smtp_server.wait_for(1)
    assert msg.rcpt_tos == ["petrov@example.com"]
    assert db.session.scalar(select(Delivery).where(Delivery.channel == "email")).status == "sent"


def test_cli_voicemail_from_a_number_and_an_unknown_employee(app):
    app.config["PUBLIC_URL"] = "https://notify.example.ru"
    result = app.test_cli_runner().invoke(args=["send-test-event", "--to", "555", "--voicemail",
                                                "--from", "+7 902 385-52-70"])
    assert result.exit_code == 0, result.output
    event = db.session.scalar(select(Event))
    assert event.type == "voicemail.received" and event.caller_key == "+79023855270"
    assert f"https://notify.example.ru/log/{event.id}" in result.output
    assert "no employee has the number 555" in result.output


def test_cli_rejected_event_says_why_and_fails(app):
    result = app.test_cli_runner().invoke(args=["send-test-event", "--to", "101", "--from", "x" * 200])
    assert result.exit_code == 1
    assert "not accepted (422)" in result.output and '"from"' in result.output
    assert db.session.scalar(select(Event)) is None


def test_the_test_event_is_signed_with_the_apps_secret(app):
    """Signed with the app's own secret: with another one the intake refuses it (401)."""
    app.config["WEBHOOK_SECRET"] = "whsec_b3RoZXItc2VjcmV0LW9mLXRoZS1zYW1lLWxlbmd0aA=="
    from notifier.pipeline import intake
    from notifier.services import test_event

    request = test_event.signed_request(test_event.build("101"), WEBHOOK_SECRET)
    assert intake.receive(request).status == 401
    assert test_event.send("101").status == 202


def test_button_sends_the_test_event_and_opens_it_in_the_log(app, auth_client, smtp_server, run_worker):
    configure_mail(smtp_server)
    employee = subscriber("101", email="petrov@example.com")
    rule(employee.id, types=["voicemail"])
    html = auth_client.get("/settings/").get_data(as_text=True)
    assert "Отправить тестовое событие" in html and '<option value="101">' in html
    resp = auth_client.post("/settings/webhook/test-event", data={
        "csrf_token": auth_client.csrf_token, "testevent-number": "101", "testevent-kind": "voicemail"})
    event = db.session.scalar(select(Event))
    assert resp.status_code == 302 and resp.headers["Location"] == f"/log/{event.id}"
    assert event.type == "voicemail.received"
    page = auth_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"Тестовое событие {event.event_id} принято" in page
    run_worker()
    [msg] = smtp_server.wait_for(1)
    assert msg.rcpt_tos == ["petrov@example.com"]


@pytest.mark.parametrize("number, error", [
    ("", "Укажите номер абонента"),
    ("999", "Сотрудника с таким номером нет"),
])
def test_button_needs_an_employee(app, auth_client, number, error):
    resp = auth_client.post("/settings/webhook/test-event", data={
        "csrf_token": auth_client.csrf_token, "testevent-number": number, "testevent-kind": "missed"})
    assert resp.status_code == 422
    assert error in resp.get_data(as_text=True)
    assert db.session.scalar(select(Event)) is None


# -- the webhook secret on demand -------------------------------------------------------


def test_secret_is_masked_until_shown_with_a_copy_button(app, auth_client):
    html = auth_client.get("/settings/").get_data(as_text=True)
    assert WEBHOOK_SECRET not in html
    assert 'action="/settings/webhook/secret/show#webhook"' in html
    resp = auth_client.post("/settings/webhook/secret/show", data={"csrf_token": auth_client.csrf_token})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert f'value="{WEBHOOK_SECRET}"' in html and 'data-copy="#webhook-secret"' in html
    assert f"SECRET='{WEBHOOK_SECRET}'" in html  # the examples carry it too
    assert "no-store" in resp.headers["Cache-Control"]
    assert settings.webhook_secret() == WEBHOOK_SECRET  # showing does not regenerate
    assert WEBHOOK_SECRET not in auth_client.get("/settings/").get_data(as_text=True)


def test_secret_is_shown_only_on_a_post_with_the_csrf_token(app, auth_client):
    assert auth_client.get("/settings/webhook/secret/show").status_code == 405
    resp = auth_client.post("/settings/webhook/secret/show", data={})
    assert resp.status_code == 400 and WEBHOOK_SECRET not in resp.get_data(as_text=True)


def test_secret_from_the_instance_file_is_shown_too(app, auth_client):
    app.config["WEBHOOK_SECRET_FROM_ENV"] = False
    secret = settings.webhook_secret()
    resp = auth_client.post("/settings/webhook/secret/show", data={"csrf_token": auth_client.csrf_token})
    assert f'value="{secret}"' in resp.get_data(as_text=True)


# -- the address for the PBX -------------------------------------------------------------


@pytest.mark.parametrize("url, loopback", [
    ("http://127.0.0.1:8000/api/v1/events", True),
    ("http://127.5.0.1/api/v1/events", True),
    ("http://localhost:8000/x", True),
    ("http://LOCALHOST./x", True),
    ("http://[::1]:8000/x", True),
    ("http://192.168.1.10:8000/api/v1/events", False),
    ("https://notify.example.ru/api/v1/events", False),
    ("http://0.0.0.0:8000/", False),
    ("http://[::1/", False),  # unparsable: no claim
])
def test_loopback_addresses(url, loopback):
    assert is_loopback_url(url) is loopback


def test_settings_warns_when_the_pbx_address_is_loopback(app, auth_client):
    html = auth_client.get("/settings/").get_data(as_text=True)  # the test client's host: localhost
    assert "http://localhost/api/v1/events" in html
    assert 'id="loopback-warning"' in html and "HOST=0.0.0.0 PUBLIC_URL=" in html
    app.config["PUBLIC_URL"] = "http://127.0.0.1:8000"
    assert 'id="loopback-warning"' in auth_client.get("/settings/").get_data(as_text=True)
    app.config["PUBLIC_URL"] = "http://192.168.1.10:8000"
    html = auth_client.get("/settings/").get_data(as_text=True)
    assert 'id="loopback-warning"' not in html and "http://192.168.1.10:8000/api/v1/events" in html


# -- the rule dialog says what will be sent ------------------------------------------------


@pytest.mark.parametrize("mail, bot, expected", [
    (False, False, "ничего не будет отправлено"),
    (True, False, "уведомления придут только на e-mail"),
    (False, True, "уведомления придут только в Telegram"),
    (True, True, None),
])
def test_rule_dialog_warns_for_the_channels_configured(app, auth_client, smtp_server, fake_telegram, mail, bot, expected):
    if mail:
        configure_mail(smtp_server)
    if bot:
        app.config.update(TELEGRAM_BOT_TOKEN=fake_telegram.token, TELEGRAM_API_URL=fake_telegram.url)
    html = auth_client.get("/rules/new", headers={"HX-Request": "true"}).get_data(as_text=True)
    warnings = re.findall(r'id="channels-warning">([^<]*)', html)
    if expected is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and expected in warnings[0], warnings


# -- favicon and make web -------------------------------------------------------------------


def test_favicon_is_public_and_linked(app, client, auth_client):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200 and resp.data[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert resp.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert '<link rel="icon" href="/static/favicon.ico"' in auth_client.get("/settings/").get_data(as_text=True)


def test_make_web_listens_on_host_and_port(tmp_path):
    """`make web` (with this venv: VENV=…) serves on $HOST:$PORT, not always 8000."""
    venv = sys.prefix  # the venv running the tests (`make test`'s .venv, set up for `make run` too)
    port = free_port()
    log = open(tmp_path / "web.log", "w+")
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), INSTANCE_PATH=str(tmp_path / "instance"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'web.db'}")
    # -o: the venv is set up already; make must not reinstall into it
    proc = subprocess.Popen(["make", "-s", "-o", f"{venv}/.runtime", "web", f"VENV={venv}"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def output():
            log.flush()
            log.seek(0)
            return log.read()

        wait_until_serving(f"http://127.0.0.1:{port}/favicon.ico", proc, output, timeout=60)
        assert requests.get(f"http://127.0.0.1:{port}/favicon.ico", timeout=5).status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
        log.close()
