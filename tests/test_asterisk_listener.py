"""The worker's AMI connection (notifier.pipeline.asterisk_listener) against the
in-test AMI server (tests/fakes/ami_server.py): a call's events -> intake ->
the worker's jobs -> email and Telegram exactly once; a connection cut mid-call
and an Asterisk that goes down and comes back (reconnect with backoff, nothing
lost or doubled); one connection across workers; refused credentials visible in
Settings; «Проверить подключение»; and ``python worker.py`` itself."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from notifier.pipeline import asterisk_listener as listener_module
from notifier.pipeline.asterisk_listener import Listener
from notifier.runtime.redis_conn import connect

from . import ami_calls as calls
from .conftest import ROOT
from .fakes.ami_server import FakeAmi
from .notify_setup import notified_employee, run_jobs
from .pbx_helpers import configure_pbx, pbx_status, stored_events
from .test_views_pbx import card, page


def wait_until(check, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def ami_server():
    with FakeAmi() as server:
        yield server


@pytest.fixture
def redis_client(app):
    client = connect(app.config["REDIS_URL"], socket_timeout=5)
    yield client
    client.close()


@pytest.fixture
def listeners(app):
    started: list[Listener] = []

    def start() -> Listener:
        started.append(Listener(app).start())
        return started[-1]

    yield start
    for one in started:
        one.stop()


@pytest.fixture
def employee(app, smtp_server, fake_telegram):
    """Employee 102 with a rule for missed calls and voicemail; email and Telegram configured."""
    return notified_employee(smtp_server, fake_telegram, ("missed_calls", "voicemail")).id


def events_of(sequence):
    return [event for _, event in sequence]


def call_state(redis_client, linkedid: str) -> dict | None:
    raw = redis_client.get(listener_module.CALL_KEY + linkedid)
    return json.loads(raw) if raw else None


def status(redis_client) -> dict:
    return listener_module.read_status(redis_client) or {}


# --------------------------------------------------------------------------- end to end


def test_a_missed_call_and_a_voicemail_notify_once(app, employee, ami_server, listeners, redis_client,
                                                    smtp_server, fake_telegram, auth_client):
    configure_pbx(app, ASTERISK_AMI_URL=ami_server.url())
    listener = listeners()
    ami_server.wait_for_login()
    assert ami_server.actions[0] == {"Action": "Login", "Username": "notifier", "Secret": "s3cret-ami",
                                     "Events": "on", "ActionID": ami_server.actions[0]["ActionID"]}
    call, sequence = calls.direct_no_answer()
    ami_server.send(*events_of(sequence))
    ami_server.send(calls.message_waiting("102@default", new=1, ch=calls.TRUNK_IN))
    wait_until(lambda: len(stored_events(app)) == 2, what="two stored events")
    run_jobs(app)
    mails = smtp_server.wait_for(2)
    assert sorted(m["Subject"] for m in mails) == ["Голосовое сообщение от +7 902 385-52-70",
                                                   "Пропущенный звонок от +7 902 385-52-70"]
    assert {m.rcpt_tos[0] for m in mails} == {"ivanov@example.com"}
    assert [m["chat_id"] for m in fake_telegram.wait_for(2)] == [5551234, 5551234]

    [(call_id, source, raw, payload), (vm_id, _, vm_raw, _)] = stored_events(app)
    assert (call_id, source, payload["result"], payload["routing"]) == (
        f"asterisk:{call.linkedid}:102", "asterisk", "no_answer", "direct")
    assert [e["Event"] for e in raw["ami"]] == ["Newchannel", "Newchannel", "DialBegin", "DialEnd", "Hangup",
                                                "Hangup"]
    assert raw["ami"][3]["DialStatus"] == "NOANSWER"
    assert vm_id == f"asterisk:{call.linkedid}:102:vm" and vm_raw["ami"][0]["Mailbox"] == "102@default"

    # The same AMI events again (a replay): nothing new is stored or sent.
    ami_server.send(*events_of(sequence), calls.message_waiting("102@default", new=1, ch=calls.TRUNK_IN))
    ami_server.send({"Event": "Newstate", "Linkedid": "sync"})
    time.sleep(1.5)
    run_jobs(app)
    assert len(stored_events(app)) == 2 and len(smtp_server.messages) == 2 and len(fake_telegram.messages) == 2
    assert pbx_status(app, "asterisk").counts == {"accepted": 2}

    st = status(redis_client)
    assert st["state"] == "connected" and st["target"] == f"notifier@127.0.0.1:{ami_server.port}"
    html = card(page(auth_client), "asterisk")
    assert "подключено" in html and "s3cret-ami" not in html and "Проверить подключение</button>" in html
    assert listener.connects == 1


def test_a_connection_cut_mid_call_loses_and_doubles_nothing(app, employee, ami_server, listeners, redis_client,
                                                             smtp_server, fake_telegram):
    configure_pbx(app, ASTERISK_AMI_URL=ami_server.url())
    listener = listeners()
    ami_server.wait_for_login()
    call, sequence = calls.group_answered_elsewhere()
    events = events_of(sequence)
    head, tail = events[:6], events[6:]  # cut after 102's DialBegin, before anyone answered
    ami_server.send(*head)
    wait_until(lambda: len((call_state(redis_client, call.linkedid) or {}).get("ami", [])) == len(head),
               what="the call's first events kept")

    # The call goes on in Asterisk (CoreShowChannels after the reconnect lists its channels).
    ami_server.channels = [{"Channel": "PJSIP/rt-trunk-00000030", "Uniqueid": call.linkedid,
                            "Linkedid": call.linkedid, "ChannelStateDesc": "Up"}]
    ami_server.drop()  # Asterisk cuts the session; the listener reconnects after its backoff
    ami_server.wait_for_login(2)
    ami_server.send(head[-1], *tail)  # and one event seen before the cut comes again
    wait_until(lambda: len(stored_events(app)) == 2, what="the call's two legs")

    # Asterisk goes down altogether: refused connections, growing waits, then back.
    ami_server.go_down()
    wait_until(lambda: listener.failures >= 3, timeout=30, what="three failed tries")
    assert status(redis_client)["state"] == "error"
    assert "не удалось подключиться" in status(redis_client)["detail"]
    ami_server.come_back()
    ami_server.wait_for_login(3, timeout=40)
    wait_until(lambda: status(redis_client).get("state") == "connected", what="connected again")
    ami_server.send(*events_of(calls.internal_no_answer()[1]))
    wait_until(lambda: len(stored_events(app)) == 3, what="the call after the outage")

    run_jobs(app)
    stored = {payload["to"]: payload["result"] for _, _, _, payload in stored_events(app)[:2]}
    assert stored == {"101": "answered", "102": "answered_elsewhere"}
    # 102 is notified once, for the internal call only (a group leg answered elsewhere notifies nobody)
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"].startswith("Пропущенный звонок от 101")
    assert len(fake_telegram.wait_for(1)) == 1
    run_jobs(app)
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1
    assert listener.connects == 3


def test_one_connection_across_workers(app, ami_server, listeners, redis_client, monkeypatch):
    monkeypatch.setattr(listener_module, "LOCK_RETRY", 1)
    configure_pbx(app, ASTERISK_AMI_URL=ami_server.url())
    first = listeners()
    ami_server.wait_for_login()
    wait_until(lambda: first.connects == 1, what="the first worker connected")
    second = listeners()
    time.sleep(2.5)  # the second one looked at least twice
    assert ami_server.logins == 1 and first.connects == 1 and second.connects == 0
    first.stop()  # a worker stops (its lock is released; a killed one's expires after LOCK_TTL)
    ami_server.wait_for_login(2)
    wait_until(lambda: second.connects == 1, what="the second worker connected")


def test_a_pending_call_waits_for_the_database(app, employee, ami_server, listeners, redis_client, monkeypatch):
    """The intake refuses (database down): the call stays pending in Redis and is taken later."""
    from notifier.pipeline import intake

    real_accept = intake.accept
    down = {"on": True}

    def accept(events, source=None, raw=None):
        if down["on"]:
            raise intake.Rejected(intake.Answer(503, {"error": "база данных недоступна, повторите позже"}))
        return real_accept(events, source=source, raw=raw)

    monkeypatch.setattr(intake, "accept", accept)
    monkeypatch.setattr(listener_module, "PENDING_RETRY", 1)
    configure_pbx(app, ASTERISK_AMI_URL=ami_server.url())
    listeners()
    ami_server.wait_for_login()
    call, sequence = calls.direct_no_answer()
    ami_server.send(*events_of(sequence))
    wait_until(lambda: redis_client.sismember(listener_module.PENDING_KEY, call.linkedid), what="pending")
    assert stored_events(app) == []
    down["on"] = False
    wait_until(lambda: len(stored_events(app)) == 1, what="taken in after the outage")
    wait_until(lambda: not redis_client.sismember(listener_module.PENDING_KEY, call.linkedid), what="done")
    assert call_state(redis_client, call.linkedid)["done"]


def test_a_call_that_ended_while_disconnected_is_not_lost(app, employee, ami_server, listeners, redis_client,
                                                          smtp_server, fake_telegram):
    """The ring timed out (DialEnd seen), then the connection broke before the Hangups:
    after the reconnect Asterisk no longer has the call's channels, so it ended meanwhile."""
    configure_pbx(app, ASTERISK_AMI_URL=ami_server.url())
    listeners()
    ami_server.wait_for_login()
    call, sequence = calls.direct_no_answer()
    head = events_of(sequence)[:4]  # up to DialEnd NOANSWER
    ami_server.send(*head)
    wait_until(lambda: len((call_state(redis_client, call.linkedid) or {}).get("ami", [])) == len(head),
               what="the call's first events kept")
    ami_server.drop()
    ami_server.wait_for_login(2)
    wait_until(lambda: len(stored_events(app)) == 1, what="the call closed after the reconnect")
    ami_server.send(*events_of(sequence)[4:])  # late Hangups (had they come) change nothing
    run_jobs(app)
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == "Пропущенный звонок от +7 902 385-52-70"
    assert len(fake_telegram.wait_for(1)) == 1
    time.sleep(1)
    run_jobs(app)
    assert len(stored_events(app)) == 1 and len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1
    coreshow = [a for a in ami_server.actions if a.get("Action") == "CoreShowChannels"]
    assert len(coreshow) == 2


# --------------------------------------------------------------------------- credentials and Settings


def test_wrong_credentials_are_refused_and_shown(app, ami_server, listeners, redis_client, auth_client):
    configure_pbx(app, ASTERISK_AMI_URL=ami_server.url(secret="wrong-secret"))
    listeners()
    ami_server.wait_for_refusal()
    wait_until(lambda: status(redis_client).get("state") == "bad_auth", what="the refusal written")
    assert pbx_status(app, "asterisk").counts == {"bad_auth": 1}
    html = card(page(auth_client), "asterisk")
    assert "АТС не пустила: неверное имя или пароль" in html and "Authentication failed" in html
    assert "wrong-secret" not in html
    assert stored_events(app) == []


def test_no_address_idles_and_says_so(app, listeners, redis_client, auth_client):
    listeners()
    wait_until(lambda: status(redis_client).get("state") == "off", what="the idle state")
    html = card(page(auth_client), "asterisk")
    assert "адрес AMI не задан" in html and "Проверить подключение</button>" not in html


def check(auth_client) -> str:
    resp = auth_client.post("/settings/pbx/asterisk/check", data={"csrf_token": auth_client.csrf_token})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#pbx-asterisk")
    html = auth_client.get("/settings/").get_data(as_text=True)
    match = re.search(r"Проверка AMI: [^<]*", html)
    assert match, "no check result on the page"
    return match.group(0)


def test_check_connection_button(app, ami_server, auth_client):
    assert check(auth_client) == "Проверка AMI: адрес AMI не задан."
    configure_pbx(app, ASTERISK_AMI_URL=ami_server.url())
    assert check(auth_client).startswith(
        f"Проверка AMI: Подключено к 127.0.0.1:{ami_server.port} (Asterisk Call Manager/7.0.3), вход как notifier")
    configure_pbx(app, ASTERISK_AMI_URL=ami_server.url(secret="wrong-secret"))
    result = check(auth_client)
    assert result.startswith("Проверка AMI: Неверное имя или пароль AMI") and "wrong-secret" not in result
    app.config["ASTERISK_AMI_URL"] = "ami://notifier:s3cret-ami@127.0.0.1:1"  # the environment wins
    assert check(auth_client).startswith("Проверка AMI: не удалось подключиться к 127.0.0.1:1")


def test_the_address_is_checked_when_saved(app, auth_client):
    resp = auth_client.post("/settings/pbx/asterisk", data={"csrf_token": auth_client.csrf_token,
                                                            "pbx-asterisk-ASTERISK_AMI_URL": "http://pbx:5038"})
    assert resp.status_code == 422 and "Нужен адрес вида ami://" in resp.get_data(as_text=True)
    resp = auth_client.post("/settings/pbx/asterisk", data={
        "csrf_token": auth_client.csrf_token, "pbx-asterisk-ASTERISK_AMI_URL": "ami://notifier:pw-123@pbx.local:5038"})
    assert resp.status_code == 302
    html = card(page(auth_client), "asterisk")
    assert "pw-123" not in html


# --------------------------------------------------------------------------- python worker.py


def test_worker_process_connects_and_notifies(app, employee, ami_server, redis_url, tmp_path, smtp_server,
                                              fake_telegram):
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": redis_url,
           "INSTANCE_PATH": str(tmp_path / "worker-instance"), "TELEGRAM_BOT_TOKEN": fake_telegram.token,
           "TELEGRAM_API_URL": fake_telegram.url, "ASTERISK_AMI_URL": ami_server.url()}
    log = open(tmp_path / "worker.log", "w+")
    worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        ami_server.wait_for_login(timeout=60)
        ami_server.send(*events_of(calls.direct_no_answer()[1]))
        [mail] = smtp_server.wait_for(1, timeout=60)
        assert mail["Subject"] == "Пропущенный звонок от +7 902 385-52-70"
        assert len(fake_telegram.wait_for(1, timeout=30)) == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(30)
        log.seek(0)
        output = log.read()
    assert code == 0, output
    assert "AMI connected to notifier@127.0.0.1" in output
