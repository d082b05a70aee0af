"""A background loop that one process among all workers runs at a time.

The Telegram poller and the Asterisk AMI listener are such loops: each runs in
a thread of ``python worker.py``, and only the process holding a short Redis
lock works (takes it in ``hold_lock()``, renews it while working), so a killed
worker's place is taken within the lock's TTL. ``step()`` does one round and
returns the seconds to wait before the next; a step that raises (Redis or the
database down) is logged and retried after 2, 4, 8 … seconds up to
``max_backoff``.
"""
from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

import redis
from redis.exceptions import LockError

log = logging.getLogger(__name__)


class SingletonLoop(ABC):
    name = "singleton-loop"   # the thread's name, and how the log calls it
    max_backoff = 60

    def __init__(self, connection: redis.Redis, lock_key: str, lock_ttl: int):
        self.redis = connection
        self.lock = connection.lock(lock_key, timeout=lock_ttl, thread_local=False)
        self.stopping = threading.Event()
        self.failures = 0
        self._thread: threading.Thread | None = None

    @abstractmethod
    def step(self) -> float:
        """One round; the seconds to wait before the next."""

    # -- the lock --------------------------------------------------------------------
    def hold_lock(self) -> bool:
        """Take the lock, or renew it if this loop holds it."""
        try:
            if self.lock.owned():
                self.lock.reacquire()
                return True
            return bool(self.lock.acquire(blocking=False))
        except LockError:  # expired between owned() and reacquire()
            return bool(self.lock.acquire(blocking=False))

    def release(self) -> None:
        try:
            if self.lock.owned():
                self.lock.release()
        except (LockError, redis.RedisError):
            pass  # expired, or Redis is gone: the TTL frees it

    # -- the loop --------------------------------------------------------------------
    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                delay = self.step()
            except Exception:  # Redis or the database is down: back off, keep going
                log.exception("%s: step failed", self.name)
                self.failures += 1
                delay = min(2 ** self.failures, self.max_backoff)
            self.stopping.wait(delay)
        self.release()

    def start(self):
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.release()
