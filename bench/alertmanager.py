"""Prometheus Alertmanager as the peer baseline (issue 15): a general-purpose alert
router on the same box, fed one alert per event, sending one email per alert to
the same SMTP sink the app uses.

Debian package ``prometheus-alertmanager`` (``apt-get install -y
prometheus-alertmanager``); without it the peer rows are skipped and say so.

The configuration keys are Alertmanager's own (https://prometheus.io/docs/alerting/latest/configuration/):
``group_by: ['...']`` "effectively disables aggregation entirely, passing
through all alerts as-is", so every alert is its own group; ``group_wait: 0s``
sends a new group's first notification at once; ``email_config.to`` is a
template string, here the alert's ``recipient`` label, so the sink log names the
same ``emp<i>@bench.local`` our emails go to; ``require_tls: false`` for the
plain local sink; ``send_resolved: false`` (one email per alert).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import requests

from . import dataset
from .servers import free_port

BINARY = "prometheus-alertmanager"
INSTALL_HINT = "apt-get install -y prometheus-alertmanager"
PATH = "/api/v2/alerts"
ACCEPTED = 200  # what POST /api/v2/alerts answers when it took the alerts

CONFIG = """\
global:
  smtp_smarthost: "127.0.0.1:{smtp_port}"
  smtp_from: "alertmanager@bench.local"
  smtp_hello: "bench.local"
  smtp_require_tls: false
route:
  receiver: email
  group_by: ["..."]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 24h
receivers:
  - name: email
    email_configs:
      - to: "{{{{ .GroupLabels.recipient }}}}"
        send_resolved: false
"""


def binary() -> str | None:
    return shutil.which(BINARY)


def missing_reason() -> str:
    return f"{BINARY} is not installed, the peer rows are skipped (Debian: {INSTALL_HINT})"


def version() -> str | None:
    exe = binary()
    if not exe:
        return None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].split("(")[0].strip() if first else None


class Alertmanager:
    """One Alertmanager process on free loopback ports, clustering off, its own storage."""

    def __init__(self, workdir: Path, logs: Path, smtp_port: int, name: str = "alertmanager"):
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / f"{name}.log"
        self.smtp_port = smtp_port
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self, timeout: float = 30) -> "Alertmanager":
        exe = binary()
        if not exe:
            raise RuntimeError(missing_reason())
        config = self.dir / "alertmanager.yml"
        config.write_text(CONFIG.format(smtp_port=self.smtp_port), encoding="utf-8")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [exe, f"--config.file={config}", f"--storage.path={self.dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
             "--log.level=warn"],
            cwd=self.dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"alertmanager exited at start; see {self.log_path}")
            try:
                if requests.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"alertmanager was not ready in {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> "Alertmanager":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def alert_items(first: int, count: int, prefix: str) -> list:
    """(index, body, headers) for the open-loop generator: one alert per event, unique
    labels, its ``recipient`` the email address of employee ``index`` (as our events)."""
    headers = {"Content-Type": "application/json"}
    items = []
    for i in range(first, first + count):
        alert = {"labels": {"alertname": "MissedCall", "event": f"{prefix}-{i}", "recipient": dataset.email(i)},
                 "annotations": {"summary": f"Missed call from +7 999 000-00-01 to {dataset.number(i)}"}}
        body = json.dumps([alert], separators=(",", ":")).encode()
        items.append((i, body, lambda: dict(headers)))
    return items
