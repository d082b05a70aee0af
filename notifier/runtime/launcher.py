"""``make run`` / the container's entry point: one process that sets up and
supervises everything the embedded default needs.

1. starts the embedded Redis unless REDIS_URL is set;
2. applies the database migrations;
3. prints a one-time setup link while no admin exists;
4. runs the web server (gunicorn) and the workers (``WORKERS``, default 2: a
   send waits on the network, so a second process keeps notifications flowing
   while one waits), restarting any that dies.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from notifier import create_app
from notifier.runtime.embedded_redis import EmbeddedRedis

RESTART_DELAY = 2.0


def _prepare() -> tuple[EmbeddedRedis | None, str | None]:
    app = create_app()
    embedded = None
    if not os.environ.get("REDIS_URL"):
        embedded = EmbeddedRedis(os.path.join(app.instance_path, "redis")).start()
        os.environ["REDIS_URL"] = embedded.url
        print(f"* embedded Redis: {embedded.url}", flush=True)
    from flask_migrate import upgrade

    from notifier.web.auth import new_setup_link

    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    public = os.environ.get("PUBLIC_URL") or f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    with app.app_context():
        upgrade()
        print(f"* database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]} (migrations applied)", flush=True)
        link = new_setup_link(public)
    return embedded, link


def _commands() -> dict[str, list[str]]:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    web_workers = os.environ.get("WEB_CONCURRENCY", "2")
    workers = max(1, int(os.environ.get("WORKERS", "2")))
    commands = {
        "web": [sys.executable, "-m", "gunicorn", "app:app", "--bind", f"{host}:{port}",
                "--workers", web_workers, "--access-logfile", "-", "--graceful-timeout", "10"],
    }
    for n in range(1, workers + 1):
        commands[f"worker-{n}"] = [sys.executable, "worker.py"]
    return commands


def main() -> int:
    embedded, link = _prepare()
    commands = _commands()
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    for name, cmd in commands.items():
        children[name] = subprocess.Popen(cmd)
    time.sleep(0.5)
    if link:
        print(f"\n* No admin yet. Open this one-time setup link to create one:\n\n    {link}\n", flush=True)
    print(f"* web: http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}  (Ctrl+C stops)", flush=True)
    try:
        while not stopping:
            for name, proc in list(children.items()):
                code = proc.poll()
                if code is not None and not stopping:
                    print(f"* {name} exited with {code}; restarting in {RESTART_DELAY:.0f} s", flush=True)
                    time.sleep(RESTART_DELAY)
                    children[name] = subprocess.Popen(commands[name])
            time.sleep(0.5)
    finally:
        for proc in children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in children.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        if embedded:
            embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
