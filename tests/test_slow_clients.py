"""Slow or stalled clients must not starve the app (issue 12, item 2).

Real gunicorn, started as the contract names it (``gunicorn app:app`` in the
project folder, so it reads gunicorn.conf.py), with clients that announce a body
and never send it, or never finish their headers.
"""
import io
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from notifier.runtime.serving import BODY_DEADLINE, CLIENT_TIMEOUT, BufferedBody

from .conftest import ROOT, WEBHOOK_SECRET
from .processes import file_text, free_port, wait_until_serving
from .webhook_signing import example, signed_headers

STALLED = 20


def _stall(port: int, request: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(request)
    return sock


def _timed(call) -> tuple[float, requests.Response]:
    start = time.monotonic()
    resp = call()
    return time.monotonic() - start, resp


# Only the web process runs here (no worker), so /health says 503 «down»: the
# point is that it answers at all, and quickly.
ANSWERED = (200, 503)


def _answers(base, webhook, until: float) -> list[float]:
    """Seconds each /health and signed webhook took (new connections, as a PBX
    makes them), asked in turn until ``until`` (and at least 5 times each); each
    must succeed within its 5 s timeout."""
    times = []
    while len(times) < 10 or time.monotonic() < until:
        took, resp = _timed(lambda: requests.get(base + "/health", timeout=5))
        assert resp.status_code in ANSWERED, resp.text
        times.append(took)
        took, resp = _timed(webhook)
        assert resp.status_code == 202, resp.text
        times.append(took)
    return times


def test_stalled_clients_do_not_starve_health_or_the_webhook(app, admin, redis_url, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS")}
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=redis_url,
               INSTANCE_PATH=str(tmp_path / "instance"), WEBHOOK_SECRET=WEBHOOK_SECRET)
    with open(tmp_path / "gunicorn.log", "w+") as log:
        web = subprocess.Popen([sys.executable, "-m", "gunicorn", "app:app", "--bind", f"127.0.0.1:{port}"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        stalled: list[socket.socket] = []

        def webhook():
            body = json.dumps(example("missed-internal") | {"id": f"slow-{time.monotonic_ns()}"}).encode()
            return requests.post(base + "/api/v1/events", data=body, headers=signed_headers(body, WEBHOOK_SECRET), timeout=5)

        try:
            wait_until_serving(base + "/health", web, file_text(log), statuses=ANSWERED)
            for _ in range(4):  # both processes up, the first webhook's connections made
                assert webhook().status_code == 202
            # Half announce a 1000-byte login form and stop; half stop inside their headers.
            for n in range(STALLED):
                stalled.append(_stall(port, (
                    b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: 1000\r\n\r\nemail=a" if n % 2 == 0 else
                    b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Len")))
            opened = time.monotonic()
            time.sleep(1)  # let the server take them all in
            times = _answers(base, webhook, until=0)
            # ...and while the server gives up on them, all at once
            time.sleep(max(0.0, opened + CLIENT_TIMEOUT + 0.5 - time.monotonic()))
            times += _answers(base, webhook, until=time.monotonic() + 8)
            # "within 1 s": each answered (5 s timeout above), and all but a load spike or two in 1 s
            assert sum(t > 1.0 for t in times) <= 2, [round(t, 2) for t in times]

            # A stalled client gets its thread back: the server gives up on it.
            for sock in stalled:
                sock.settimeout(CLIENT_TIMEOUT + BODY_DEADLINE + 15)
            answers = [sock.recv(200) for sock in stalled]
            assert all(a == b"" or a.startswith(b"HTTP/1.1 408") for a in answers), answers
            assert any(a.startswith(b"HTTP/1.1 408") for a in answers), answers
        finally:
            for sock in stalled:
                sock.close()
            os.killpg(web.pid, 15)
            web.wait(30)
        output = file_text(log)()
    assert "Traceback" not in output, output


class _Stalls(io.BytesIO):
    """A request body of which only the first bytes ever arrive (as a socket with a timeout)."""

    def read(self, size=-1):
        data = super().read(size)
        if not data:
            raise TimeoutError("timed out")
        return data


LIMIT = 100_000  # the app's MAX_CONTENT_LENGTH here


@pytest.mark.parametrize("headers, stream, status, seen", [
    ({"CONTENT_LENGTH": "5"}, io.BytesIO(b"hello"), "200 OK", b"hello"),
    ({"CONTENT_LENGTH": "70000"}, io.BytesIO(b"x" * 70_000), "200 OK", b"x" * 70_000),
    ({"CONTENT_LENGTH": "9"}, io.BytesIO(b"hel"), "200 OK", b"hel"),  # client closed early: what came
    ({"HTTP_TRANSFER_ENCODING": "chunked"}, io.BytesIO(b"x" * 70_000), "200 OK", b"x" * 70_000),
    # over the limit: chunked, read up to one byte past it, for the app to refuse (413) ...
    ({"HTTP_TRANSFER_ENCODING": "chunked"}, io.BytesIO(b"x" * 200_000), "200 OK", b"x" * (LIMIT + 1)),
    # ... announced: left unread
    ({"CONTENT_LENGTH": str(LIMIT + 1)}, io.BytesIO(b"x"), "200 OK", None),
    ({"CONTENT_LENGTH": "9"}, _Stalls(b"hel"), "408 Request Timeout", None),
    ({"CONTENT_LENGTH": "abc"}, io.BytesIO(b"x"), "200 OK", None),  # no body, as Flask sees it
])
def test_the_body_is_read_before_the_app_runs(headers, stream, status, seen):
    """BufferedBody, the WSGI side of the slow-client defence: the app gets the
    body from memory; a stalled body ends in 408 without the app running."""
    calls = []

    def app(environ, start_response):
        calls.append(environ["wsgi.input"].read() if environ["wsgi.input"] is not stream else None)
        start_response("200 OK", [])
        return [b""]

    answered = []
    BufferedBody(app, lambda: LIMIT)({"wsgi.input": stream, **headers}, lambda s, h: answered.append(s))
    assert answered == [status]
    assert calls == ([] if status.startswith("408") else [seen])
