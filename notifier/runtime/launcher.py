"""``make run`` / the container's entry point: one process that sets up and
supervises everything the embedded default needs.

1. starts the embedded Redis unless REDIS_URL is set;
2. applies the database migrations and prints a one-time setup link while no
   admin exists (in a short-lived child: Alembic stays out of the others);
3. runs the web server (gunicorn) and the workers (``WORKERS``, default 1: one
   process runs ``WORKER_THREADS`` jobs at once, about 50 events/s measured on
   2 cores, far beyond an office's calls; a second uses a second core, ~75/s, for
   some 25 MB more, issues 15 and 17), restarting any that dies;
4. on HUP, INT or TERM stops all it started (gunicorn, workers, the embedded
   Redis) and starts nothing more.

Memory (issue 17): the launcher imports the app's code once and forks every
child from itself, so the code's pages are shared by all of them instead of
each process importing its own copy (about 60 MB each). ``gc.freeze()`` before
forking keeps the collector from writing to those shared pages. A forked child
runs in its own process group, named in ``/proc/<pid>/comm`` (``ps -e``, ``top``):
``notifier-web`` (gunicorn's master and its workers), ``notifier-worker``.
"""
from __future__ import annotations

import gc
import importlib
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable

from notifier import ROOT
from notifier.runtime.embedded_redis import EmbeddedRedis

M_ARENA_MAX = -8  # glibc's mallopt parameter
RESTART_DELAY = 2.0
STOP_TIMEOUT = 15.0  # for children to stop on TERM before they are killed
# Ctrl+C, closing the terminal, `docker stop` / systemd: all stop everything.
STOP_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)
# Imported before forking, so that web and workers share them (create_app() imports the web side).
# The worker's job modules (its JOB_MODULES) are added in _share_code.
SHARED_MODULES = (
    "notifier.pipeline.worker", "notifier.pipeline.outbox", "notifier.pipeline.asterisk_listener",
    "notifier.pipeline.digest", "notifier.telegram.poller", "notifier.runtime.scheduler_thread",
    # the first working-hours calendar imports every country's module (about 8 MB):
    # the digest loop and the schedule pages would each do it after the fork
    "holidays.countries",
    "gunicorn.app.wsgiapp", "gunicorn.arbiter", "gunicorn.workers.gthread", "gunicorn.glogging", "gunicorn.ctl.server",
)


def _embedded_redis(app) -> EmbeddedRedis | None:
    if os.environ.get("REDIS_URL"):
        return None
    embedded = EmbeddedRedis(os.path.join(app.instance_path, "redis")).start()
    os.environ["REDIS_URL"] = embedded.url
    print(f"* embedded Redis: {embedded.url}", flush=True)
    return embedded


def _prepare(app, out: int) -> None:
    """Migrations; the one-time setup link while no admin exists, written to ``out`` (main prints it last)."""
    from flask_migrate import upgrade

    from notifier.web.auth import new_setup_link

    with app.app_context():
        upgrade()
        print(f"* database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]} (migrations applied)", flush=True)
        link = new_setup_link(setup_base_url(app))
        os.write(out, (link or "").encode())


def setup_base_url(app) -> str:
    """Where the setup link points: PUBLIC_URL when set (a container's 0.0.0.0
    means nothing to a browser elsewhere), else this machine's HOST and PORT."""
    if app.config.get("PUBLIC_URL"):
        return app.config["PUBLIC_URL"]
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"


def _web() -> None:
    """gunicorn, as ``gunicorn app:app --config gunicorn.conf.py`` would run it (worker class,
    WEB_CONCURRENCY and the rest come from gunicorn.conf.py)."""
    from gunicorn.app.wsgiapp import WSGIApplication

    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    sys.argv = ["gunicorn", "app:app", "--config", str(ROOT / "gunicorn.conf.py"),
                "--bind", f"{host}:{port}", "--access-logfile", "-"]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()


def _worker(app) -> None:
    from notifier.pipeline.worker import main

    main(app=app)


def _commands(app) -> dict[str, Callable[[], None]]:
    """The children: what each runs in its forked process."""
    workers = max(1, int(os.environ.get("WORKERS", "1")))
    commands = {"web": _web}
    for n in range(1, workers + 1):
        commands[f"worker-{n}"] = lambda: _worker(app)
    return commands


def _title(name: str) -> str:
    return "notifier-" + name.split("-")[0]


class Child:
    """A forked child in a process group of its own: a terminal's signals reach only
    the launcher (which stops children in order), and the whole group, e.g.
    gunicorn's workers, can be ended together."""

    def __init__(self, name: str, target: Callable[[], None]):
        self.name = name
        self.returncode: int | None = None
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        self.pid = os.fork()
        if self.pid == 0:
            _run_child(name, target, blocked)  # never returns
        try:
            os.setpgid(self.pid, self.pid)  # also here: no signal to the group may miss it
        except OSError:
            pass  # the child did it first, or already exited
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
        return self.returncode

    def signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def end_group(self) -> None:
        """Kill what is left of an exited child's process group (e.g. gunicorn workers of a killed master)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _run_child(name: str, target: Callable[[], None], mask) -> None:
    code = 1
    try:
        os.setpgid(0, 0)
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        try:
            with open("/proc/self/comm", "w") as fh:
                fh.write(_title(name))
        except OSError:
            pass
        target()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        # os._exit: none of the launcher's cleanup (atexit, the embedded Redis) may run here.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _stop_children(children: dict[str, Child], timeout: float = STOP_TIMEOUT) -> None:
    for child in children.values():
        child.signal(signal.SIGTERM)  # gunicorn and RQ both stop gracefully on TERM
    deadline = time.monotonic() + timeout
    for child in children.values():
        child.wait(max(0.1, deadline - time.monotonic()))
        child.end_group()
        child.wait()


def _prepared(app) -> str | None:
    """Runs _prepare in a child; returns the setup link it made (None: an admin exists)."""
    read, write = os.pipe()
    child = Child("setup", lambda: _prepare(app, write))
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        link = fh.read().decode()
    if child.wait() != 0:
        raise RuntimeError(f"migrations failed (exit code {child.returncode})")
    return link or None


def _limit_malloc_arenas() -> None:
    """At most 2 malloc arenas per process, set here before any thread or fork (the
    children inherit it): glibc gives threads that allocate arenas of their own (up to
    8 per core), each keeping its freed memory. With gunicorn's 32 threads and the
    worker's threads, 2 arenas held about 30 MB less at 50 events/s (issue 17), with
    no difference idle. MALLOC_ARENA_MAX in the environment wins (glibc reads it)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, 2)
    except (OSError, AttributeError):
        pass  # not glibc: its own allocator's defaults


def _shared_app():
    """The app, built once here: ``app.py``'s, which gunicorn's ``app:app`` then finds
    already imported, and the one the workers run with (REDIS_URL defaults to the
    embedded server's socket, the same URL _embedded_redis sets)."""
    os.chdir(ROOT)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("app").app


def _share_code() -> None:
    """Import what every child needs, then keep the collector off those objects (see the module doc)."""
    from sqlalchemy.orm import configure_mappers

    from notifier.pipeline.worker import JOB_MODULES

    for module in (*SHARED_MODULES, *JOB_MODULES):
        importlib.import_module(module)
    configure_mappers()  # else each child would on its first query, writing to the shared mappers
    gc.collect()
    gc.freeze()


def main() -> int:
    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()

    # First of all: a stop signal from here on only sets the event; the launcher
    # then starts nothing more and stops everything it started.
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop)
    embedded = None
    children: dict[str, Child] = {}
    try:
        _limit_malloc_arenas()
        app = _shared_app()
        embedded = _embedded_redis(app)
        link = _prepared(app)
        _share_code()
        commands = _commands(app)
        for name, target in commands.items():
            if stop.is_set():
                return 0
            children[name] = Child(name, target)
        if stop.wait(0.5):
            return 0
        if link:
            print(f"\n* No admin yet. Open this one-time setup link to create one:\n\n    {link}\n", flush=True)
        host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
        print(f"* web: http://{host}:{port}  (Ctrl+C stops)", flush=True)
        while not stop.wait(0.5):
            for name, child in list(children.items()):
                code = child.poll()
                if code is None:
                    continue
                child.end_group()
                print(f"* {name} exited with {code}; restarting in {RESTART_DELAY:.0f} s", flush=True)
                if stop.wait(RESTART_DELAY):
                    break
                children[name] = Child(name, commands[name])
    finally:
        if stop.is_set():
            print("* stopping", flush=True)
        _stop_children(children)
        if embedded:
            embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
