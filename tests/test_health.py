"""``/health``: the database, Redis, a live RQ worker (by its heartbeat), the
Telegram poller and the Asterisk AMI connection; 503 when notifications cannot
flow. Real Redis, real ``worker.py`` subprocesses."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from notifier.extensions import db
from notifier.runtime.embedded_redis import EmbeddedRedis
from notifier.runtime.redis_conn import get_redis
from notifier.services import settings
from notifier.telegram.poller import LOCK_KEY

from . import factories
from .conftest import ROOT


def _until(client, status: int, timeout: float = 90) -> dict:
    """Ask /health until it answers ``status`` (generous: a loaded machine starts processes slowly)."""
    deadline = time.monotonic() + timeout
    while True:
        resp = client.get("/health")
        if resp.status_code == status:
            return resp.get_json()
        if time.monotonic() > deadline:
            raise AssertionError(f"/health stayed {resp.status_code}: {resp.get_data(as_text=True)}")
        time.sleep(0.5)


@pytest.fixture
def worker_process(app, redis_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": redis_url,
           "INSTANCE_PATH": str(tmp_path / "worker-instance")}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    log = open(tmp_path / "worker.log", "w+")
    proc = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(30)
    log.close()


def test_health_is_503_without_a_worker_and_public(client):
    resp = client.get("/health")  # no login
    assert resp.status_code == 503
    assert resp.headers["Cache-Control"] == "no-store"
    body = resp.get_json()
    assert body["status"] == "down"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["redis"] == {"ok": True}
    assert body["checks"]["worker"]["ok"] is False and body["checks"]["worker"]["workers"] == 0
    assert body["checks"]["telegram_poller"] == {"configured": False}
    assert body["checks"]["ami"] == {"configured": False}


def test_health_follows_a_real_worker_started_then_stopped(app, client, worker_process):
    body = _until(client, 200)
    assert body["status"] == "ok"
    assert body["checks"]["worker"]["workers"] == 1
    assert body["checks"]["worker"]["last_heartbeat_seconds_ago"] <= 60
    worker_process.send_signal(signal.SIGTERM)
    assert worker_process.wait(60) == 0
    body = _until(client, 503, timeout=30)  # RQ unregisters a worker that stops on TERM
    assert body["checks"]["worker"]["ok"] is False


def test_a_killed_workers_stale_heartbeat_does_not_count(app, client):
    """A SIGKILLed worker stays in RQ's set until its key expires (minutes):
    its old heartbeat must not pass for a live worker."""
    r = get_redis()
    r.sadd("rq:workers", "rq:worker:gone")
    r.hset("rq:worker:gone", "last_heartbeat", "2020-01-01T00:00:00.000000Z")
    body = client.get("/health").get_json()
    assert body["status"] == "down" and body["checks"]["worker"]["workers"] == 0
    assert body["checks"]["worker"]["last_heartbeat_seconds_ago"] > 60


def test_health_is_503_when_redis_is_down(app, client, tmp_path):
    server = EmbeddedRedis(str(tmp_path / "redis-to-stop"), persist=False).start()
    app.config["REDIS_URL"] = server.url
    app.extensions.pop("redis", None)
    server.stop()
    started = time.monotonic()
    resp = client.get("/health")
    took = time.monotonic() - started
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["worker"]["ok"] is False
    assert body["checks"]["database"] == {"ok": True}
    assert server.url not in resp.get_data(as_text=True)  # no addresses, no driver messages
    assert took < 10, took  # Redis timeouts are short in the web process (0.5 s); lenient bound


def _pretend_worker_alive():
    """A heartbeat as RQ writes it, so the checks below are about one thing each."""
    from rq.utils import now, utcformat

    r = get_redis()
    r.sadd("rq:workers", "rq:worker:probe")
    r.hset("rq:worker:probe", "last_heartbeat", utcformat(now()))


def test_telegram_poller_matters_only_when_a_bot_polls(app, client, fake_telegram):
    _pretend_worker_alive()
    factories.configure_telegram(fake_telegram)
    db.session.commit()
    resp = client.get("/health")
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "degraded"
    assert body["checks"]["telegram_poller"]["ok"] is False
    assert fake_telegram.token not in resp.get_data(as_text=True)
    get_redis().set(LOCK_KEY, "x", ex=15)
    body = client.get("/health").get_json()
    assert body["status"] == "ok" and body["checks"]["telegram_poller"] == {
        "configured": True, "mode": "polling", "ok": True}


def test_ami_connection_when_asterisk_is_configured(app, client):
    """The listener's own status key: "connected" (short TTL, rewritten while up) or not."""
    import json

    from notifier.pbx import asterisk
    from notifier.pipeline import asterisk_listener

    _pretend_worker_alive()
    settings.save_pbx_credentials({asterisk.URL_KEY: "ami://user:secret@pbx.local:5038"})
    db.session.commit()
    resp = client.get("/health")  # no worker has written a status: not connected
    assert resp.status_code == 503 and resp.get_json()["checks"]["ami"] == {
        "configured": True, "ok": False, "state": "unknown", "error": "нет соединения с Asterisk (AMI)"}
    r = get_redis()

    def status(state):
        r.set(asterisk_listener.STATUS_KEY, json.dumps({"state": state, "detail": "Asterisk Call Manager/5.0",
                                                        "target": "user@pbx.local:5038"}), ex=15)

    status(asterisk_listener.CONNECTED)
    resp = client.get("/health")
    assert resp.status_code == 200 and resp.get_json()["checks"]["ami"]["ok"] is True
    assert "pbx.local" not in resp.get_data(as_text=True) and "secret" not in resp.get_data(as_text=True)
    status(asterisk_listener.REFUSED)  # bad credentials
    resp = client.get("/health")
    assert resp.status_code == 503 and resp.get_json()["checks"]["ami"]["state"] == "bad_auth"
