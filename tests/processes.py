"""Helpers for tests that run the shipped processes (gunicorn, the launcher,
``worker.py``) as real subprocesses."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import requests

from bench.servers import free_port  # one free-port helper for bench and tests

from .conftest import ROOT


def wait_until_serving(url: str, proc: subprocess.Popen, output: Callable[[], str], timeout: float = 90,
                       statuses: tuple[int, ...] = (200,)) -> None:
    """Until ``url`` answers with one of ``statuses``; fails with the process's output if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode}:\n{output()}")
        try:
            if requests.get(url, timeout=2).status_code in statuses:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout} s:\n{output()}")


def file_text(log) -> Callable[[], str]:
    """What a log file opened "w+" holds so far (for wait_until_serving)."""
    def read() -> str:
        log.flush()
        log.seek(0)
        return log.read()
    return read


class Launcher:
    """``python -m notifier.runtime.launcher`` on the embedded default (whatever DATABASE_URL
    and REDIS_URL say), one web and one worker process, in a session (so a process
    group) of its own; its output is collected."""

    def __init__(self, instance: Path, **env):
        self.instance = instance
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items()
                 if k not in ("DATABASE_URL", "REDIS_URL", "HOST", "PUBLIC_URL", "GUNICORN_CMD_ARGS")}
        clean.update(INSTANCE_PATH=str(instance), PORT=str(self.port), WORKERS="1", WEB_CONCURRENCY="1", **env)
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self.proc = subprocess.Popen([sys.executable, "-m", "notifier.runtime.launcher"], cwd=ROOT, env=clean,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.tree: dict[int, psutil.Process] = {}

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()

    @property
    def output(self) -> str:
        with self._seen:
            return "".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        with self._seen:
            while not any(text in line for line in self.lines):
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"no {text!r} in the launcher's output:\n{''.join(self.lines)}")
                self._seen.wait(min(left, 0.5))

    def wait_until_running(self) -> dict[int, psutil.Process]:
        """Until the web serves and the worker listens; returns every descendant then."""
        self.wait_for_line("rq.worker: *** Listening on")
        self.wait_for_line("Scheduler for default started")
        wait_until_serving(self.url + "/health", self.proc, lambda: self.output)
        self.tree = {p.pid: p for p in psutil.Process(self.proc.pid).children(recursive=True)}
        # the launcher's forked children are named in /proc/<pid>/comm (psutil's name())
        names = " ".join(p.name() for p in self.tree.values())
        assert "redis-server" in names and "notifier-web" in names and "notifier-worker" in names, names
        return self.tree

    def descendants(self) -> set[int]:
        try:
            return {p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(60)
        finally:
            self.kill_all()

    def kill_all(self) -> None:
        """Test cleanup: nothing of this run may outlive the test, whatever failed."""
        procs = list(self.tree.values())
        for p in list(procs):
            procs += children(p)
        if self.proc.poll() is None:
            procs += [psutil.Process(self.proc.pid), *children(psutil.Process(self.proc.pid))]
        for p in procs:
            if alive(p):
                p.kill()
        self.proc.wait(30)


def alive(p: psutil.Process) -> bool:
    """Still running, the same process (is_running compares the start time), not a zombie."""
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def children(p: psutil.Process) -> list[psutil.Process]:
    try:
        return p.children(recursive=True)
    except psutil.NoSuchProcess:
        return []

