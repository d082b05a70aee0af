"""Helpers for tests that run the shipped processes (gunicorn, the launcher,
``worker.py``) as real subprocesses."""
from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import requests

from bench.servers import free_port  # one free-port helper for bench and tests

from .conftest import ROOT


def wait_until_serving(url: str, proc: subprocess.Popen, output: Callable[[], str], timeout: float = 90) -> None:
    """Until ``url`` answers 200; fails with the process's output if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode}:\n{output()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
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
