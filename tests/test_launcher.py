"""``make run`` (``python -m notifier.runtime.launcher``) as a real process tree, on the
embedded default (SQLite and the embedded Redis in a temporary instance folder):
it stops all it started on HUP, INT and TERM (closing the terminal left gunicorn
and redis-server running), and starts nothing after a stop signal (issue 12, item 14)."""
from __future__ import annotations

import os
import signal
import socket
import time

import psutil
import pytest

from .processes import Launcher, alive


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _assert_all_gone(launcher: Launcher, tree: dict[int, psutil.Process]) -> None:
    deadline = time.monotonic() + 10  # orphans may still be exiting
    while time.monotonic() < deadline and any(alive(p) for p in tree.values()):
        time.sleep(0.2)
    left = [" ".join(p.cmdline()) for p in tree.values() if alive(p)]
    assert not left, f"still running after the launcher stopped: {left}\n{launcher.output}"
    assert _port_free(launcher.port), f"port {launcher.port} still in use"
    assert not (launcher.instance / "redis" / "redis.sock").exists()


@pytest.mark.parametrize("signum, to_group", [
    (signal.SIGHUP, True),   # the terminal is closed
    (signal.SIGINT, True),   # Ctrl+C
    (signal.SIGTERM, False),  # docker stop, systemd, kill
], ids=["HUP-to-group", "INT-to-group", "TERM-to-launcher"])
def test_a_stop_signal_stops_everything_the_launcher_started(tmp_path, signum, to_group):
    launcher = Launcher(tmp_path / "instance")
    try:
        tree = launcher.wait_until_running()
        if to_group:
            os.killpg(launcher.proc.pid, signum)
        else:
            launcher.proc.send_signal(signum)
        launcher.proc.wait(60)
        _assert_all_gone(launcher, tree)
    finally:
        launcher.kill_all()


def test_nothing_starts_after_a_stop_signal(tmp_path):
    """A stop signal during the restart delay of a crashed worker: no new worker."""
    launcher = Launcher(tmp_path / "instance")
    try:
        tree = launcher.wait_until_running()
        worker = next(p for p in tree.values() if p.name() == "notifier-worker" and p.ppid() == launcher.proc.pid)
        worker.kill()
        launcher.wait_for_line("worker-1 exited with -9; restarting")
        launcher.proc.send_signal(signal.SIGTERM)
        started = set()
        while launcher.proc.poll() is None:
            started |= launcher.descendants() - set(tree)
            time.sleep(0.05)
        assert not started, f"started after the stop signal: {started}\n{launcher.output}"
        _assert_all_gone(launcher, tree)  # the crashed worker's scheduler included
    finally:
        launcher.kill_all()
