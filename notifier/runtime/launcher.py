"""``make run`` / the container's entry point: one process that sets up and
supervises everything the embedded default needs.

1. starts the embedded Redis unless REDIS_URL is set;
2. applies the database migrations;
3. prints a one-time setup link while no admin exists;
4. runs the web server (gunicorn) and the workers (``WORKERS``, default 2: a
   send waits on the network, so a second process keeps notifications flowing
   while one waits), restarting any that dies;
5. on HUP, INT or TERM stops all it started (gunicorn, workers, the embedded
   Redis) and starts nothing more.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from notifier import ROOT, create_app
from notifier.runtime.embedded_redis import EmbeddedRedis

RESTART_DELAY = 2.0
STOP_TIMEOUT = 15.0  # for children to stop on TERM before they are killed
# Ctrl+C, closing the terminal, `docker stop` / systemd: all stop everything.
STOP_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)


def _embedded_redis(app) -> EmbeddedRedis | None:
    if os.environ.get("REDIS_URL"):
        return None
    embedded = EmbeddedRedis(os.path.join(app.instance_path, "redis")).start()
    os.environ["REDIS_URL"] = embedded.url
    print(f"* embedded Redis: {embedded.url}", flush=True)
    return embedded


def _prepare(app) -> str | None:
    """Migrations; the one-time setup link while no admin exists."""
    from flask_migrate import upgrade

    from notifier.web.auth import new_setup_link

    with app.app_context():
        upgrade()
        print(f"* database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]} (migrations applied)", flush=True)
        return new_setup_link(setup_base_url(app))


def setup_base_url(app) -> str:
    """Where the setup link points: PUBLIC_URL when set (a container's 0.0.0.0
    means nothing to a browser elsewhere), else this machine's HOST and PORT."""
    if app.config.get("PUBLIC_URL"):
        return app.config["PUBLIC_URL"]
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"


def _commands() -> dict[str, list[str]]:
    """The children; gunicorn reads its settings (worker class, WEB_CONCURRENCY) from gunicorn.conf.py."""
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    workers = max(1, int(os.environ.get("WORKERS", "2")))
    commands = {
        "web": [sys.executable, "-m", "gunicorn", "app:app", "--config", str(ROOT / "gunicorn.conf.py"),
                "--bind", f"{host}:{port}", "--access-logfile", "-"],
    }
    for n in range(1, workers + 1):
        commands[f"worker-{n}"] = [sys.executable, "worker.py"]
    return commands


def _spawn(cmd: list[str]) -> subprocess.Popen:
    """A child in a process group of its own: a terminal's signals reach only the
    launcher (which stops children in order), and the whole group, e.g. gunicorn's
    workers or RQ's scheduler, can be ended together."""
    return subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, process_group=0)


def _end_group(proc: subprocess.Popen) -> None:
    """Kill what is left of an exited child's process group (e.g. the scheduler of a crashed worker)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_children(children: dict[str, subprocess.Popen], timeout: float = STOP_TIMEOUT) -> None:
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # gunicorn and RQ both stop gracefully on TERM
    deadline = time.monotonic() + timeout
    for proc in children.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        _end_group(proc)
        proc.wait()


def main() -> int:
    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()

    # First of all: a stop signal from here on only sets the event; the launcher
    # then starts nothing more and stops everything it started.
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop)
    embedded = None
    children: dict[str, subprocess.Popen] = {}
    try:
        app = create_app()
        embedded = _embedded_redis(app)
        link = _prepare(app)
        commands = _commands()
        for name, cmd in commands.items():
            if stop.is_set():
                return 0
            children[name] = _spawn(cmd)
        if stop.wait(0.5):
            return 0
        if link:
            print(f"\n* No admin yet. Open this one-time setup link to create one:\n\n    {link}\n", flush=True)
        host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
        print(f"* web: http://{host}:{port}  (Ctrl+C stops)", flush=True)
        while not stop.wait(0.5):
            for name, proc in list(children.items()):
                code = proc.poll()
                if code is None:
                    continue
                _end_group(proc)
                print(f"* {name} exited with {code}; restarting in {RESTART_DELAY:.0f} s", flush=True)
                if stop.wait(RESTART_DELAY):
                    break
                children[name] = _spawn(commands[name])
    finally:
        if stop.is_set():
            print("* stopping", flush=True)
        _stop_children(children)
        if embedded:
            embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
