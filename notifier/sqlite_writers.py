"""SQLite's writers, queued in the processes rather than in SQLite's busy handler.

SQLite lets one transaction write at a time. Writers that find the file busy
sleep in its busy handler in growing steps (1, 2, 5, 10 ... 100 ms, first come
not first served), so with the worker's and the web's threads writing at once
the file sat idle while latency grew to seconds (issue 15: 37% of the worker's
time in execute at 50 events/s). Here a writer takes its file's lock at its
transaction's first write and gives it back when the transaction ends: a
thread lock among the threads of one process, and an flock on
``<database>-writers.lock`` among processes (polled every half millisecond).
After ``WAIT`` seconds a writer goes ahead without it and SQLite decides, as
before: the lock only ever orders writers, it never fails one.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time

WAIT = 10.0   # as PRAGMA busy_timeout
POLL = 0.0005

_locks: dict[str, WriterLock] = {}
_locks_guard = threading.Lock()


class WriterLock:
    """The writers' lock of one database file, in this process."""

    def __init__(self, database: str):
        self.path = database + "-writers.lock"
        self._threads = threading.Lock()
        self._fd: int | None = None

    def acquire(self, timeout: float = WAIT) -> bool:
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        try:
            fd = self._file()
        except OSError:  # no lock file possible (a read-only folder): this process's writers still queue
            return True
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._threads.release()
                    return False
                time.sleep(POLL)

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd

    def _forked(self) -> None:
        """In a forked child: a lock of its own (flock belongs to the open file,
        which the child shares with its parent until it opens the file again)."""
        self._threads = threading.Lock()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def lock_for(database: str) -> WriterLock:
    with _locks_guard:
        lock = _locks.get(database)
        if lock is None:
            lock = _locks[database] = WriterLock(database)
        return lock


def _after_fork() -> None:
    global _locks_guard
    _locks_guard = threading.Lock()
    for lock in _locks.values():
        lock._forked()


os.register_at_fork(after_in_child=_after_fork)


class Connection(sqlite3.Connection):
    """A SQLite connection that holds its file's WriterLock from its
    transaction's first write until the transaction ends."""

    writer_lock: WriterLock | None = None
    _holding = False

    def take_writer_lock(self) -> None:
        if not self._holding and self.writer_lock is not None:
            self._holding = self.writer_lock.acquire()

    def _give_back(self) -> None:
        if self._holding:
            self._holding = False
            self.writer_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


def before_write(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    """SQLAlchemy's before_cursor_execute: a writing statement takes the lock."""
    if statement.lstrip()[:6].upper() in _WRITES:
        take = getattr(conn.connection.dbapi_connection, "take_writer_lock", None)
        if take is not None:
            take()
