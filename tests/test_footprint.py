"""Memory of the shipped processes (issue 17): what the web and the worker import,
RQ's scheduler as a thread, and the launcher's whole process tree, idle, in PSS,
with its children still restarted when killed."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import timedelta

import psutil
import requests

from bench.footprint import sample
from notifier.pipeline.queueing import get_queue
from notifier.pipeline.worker import make_worker
from notifier.runtime.scheduler_thread import ThreadScheduler, start_scheduler

from .conftest import ROOT
from .jobs_for_tests import record_context
from .processes import Launcher, alive


def test_web_and_worker_leave_migrations_and_password_rules_unimported(tmp_path):
    """Alembic (Flask-Migrate) and zxcvbn's word lists cost about 23 MB in every
    process that imports them; only `flask db` and the password pages need them."""
    code = ("import sys, app; import notifier.pipeline.worker, notifier.pipeline.processing; "
            "print(sorted(m for m in ('alembic', 'flask_migrate', 'zxcvbn', 'mako') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env=_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_flask_db_commands_still_work(tmp_path):
    flask = [sys.executable, "-m", "flask", "--app", "app", "db"]
    env = _env(tmp_path)
    listed = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "--help"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert " db " in listed.stdout, listed.stdout + listed.stderr
    up = subprocess.run([*flask, "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    current = subprocess.run([*flask, "current"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert "(head)" in current.stdout, current.stdout + current.stderr


def test_password_rules_still_refuse_common_passwords():
    from notifier.core.passwords import TOO_COMMON, problem

    assert problem("password123") == TOO_COMMON
    assert problem("correct-horse-battery-staple-7") is None


def test_the_scheduler_thread_moves_due_jobs_and_gives_its_lock_back(app):
    """RQ's scheduler loop in a thread of the worker (no forked process): a job
    scheduled for now reaches the queue, and on stop the lock is released."""
    queue = get_queue()
    job = queue.enqueue_in(timedelta(seconds=0), record_context, "scheduled", job_id="scheduled-thread")
    assert job.get_status() == "scheduled"
    worker = make_worker(app)
    scheduler = start_scheduler(worker)
    try:
        assert isinstance(scheduler, ThreadScheduler) and worker.scheduler is scheduler
        assert scheduler.acquired_locks == {queue.name}
        assert scheduler._process.is_alive() and scheduler._process.pid is None
        deadline = time.monotonic() + 10
        while job.get_status(refresh=True) != "queued" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert job.get_status() == "queued"
    finally:
        scheduler.stop_thread()
    assert not scheduler._process.is_alive()
    lock = queue.connection.get(ThreadScheduler.get_locking_key(queue.name))
    assert lock is None  # another worker's scheduler may take over at once
    worker.teardown()  # RQ's own teardown leaves the (stopped) thread alone


def test_launcher_tree_idles_in_under_150_mb_and_restarts_killed_children(tmp_path):
    """One web process and one worker (tests' Launcher), forked from the launcher: the
    setup link works, the whole tree idles below the product's 150 MB; a SIGKILLed
    gunicorn master or worker is started again, and the web serves again."""
    launcher = Launcher(tmp_path / "instance")
    try:
        tree = launcher.wait_until_running()
        # the setup link, made by the short-lived migrations child, is printed and works
        launcher.wait_for_line(launcher.url + "/setup/")
        link = next(line.strip() for line in launcher.lines if launcher.url + "/setup/" in line)
        assert requests.get(link, timeout=10).status_code == 200, link
        time.sleep(2)
        idle = sample(launcher.proc.pid)
        assert idle["total_mb"] <= 150, idle
        children = {p.name(): p for p in tree.values() if p.ppid() == launcher.proc.pid}
        assert {"notifier-web", "notifier-worker", "redis-server"} <= set(children), children
        for name in ("notifier-web", "notifier-worker"):
            children[name].send_signal(signal.SIGKILL)
        launcher.wait_for_line("web exited with -9; restarting")
        launcher.wait_for_line("worker-1 exited with -9; restarting")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = {p.name(): p for p in psutil.Process(launcher.proc.pid).children() if alive(p)}
            if all(n in now and now[n].pid != children[n].pid for n in ("notifier-web", "notifier-worker")):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"not restarted:\n{launcher.output}")
        assert not alive(children["notifier-web"]) and not alive(children["notifier-worker"])
        while time.monotonic() < deadline:
            try:
                if requests.get(launcher.url + "/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError(f"the web did not come back:\n{launcher.output}")
        launcher.tree.update({p.pid: p for p in psutil.Process(launcher.proc.pid).children(recursive=True)})
    finally:
        launcher.stop()


def _env(tmp_path) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["INSTANCE_PATH"] = str(tmp_path / "instance")
    return env

