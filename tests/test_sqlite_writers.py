"""notifier.sqlite_writers: SQLite's writers queue on a lock of their file, across threads and processes."""
import multiprocessing
import threading
import time

import pytest
from sqlalchemy import text

from notifier import sqlite_writers
from notifier.extensions import db


def _hold(path, held, release):  # in a child process
    lock = sqlite_writers.WriterLock(path)
    assert lock.acquire(1)
    held.set()
    release.wait(10)
    lock.release()


def test_a_writer_of_another_process_waits_for_the_lock(tmp_path):
    path = str(tmp_path / "db.sqlite")
    ctx = multiprocessing.get_context("fork")
    held, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold, args=(path, held, release))
    child.start()
    try:
        assert held.wait(10)
        mine = sqlite_writers.WriterLock(path)
        assert mine.acquire(timeout=0.2) is False  # held elsewhere: gives up after the wait
        threading.Timer(0.2, release.set).start()
        started = time.monotonic()
        assert mine.acquire(timeout=10) is True  # handed over once the other process lets go
        assert time.monotonic() - started < 5
        mine.release()
    finally:
        release.set()
        child.join(10)


def test_threads_of_one_process_take_turns(tmp_path):
    lock = sqlite_writers.WriterLock(str(tmp_path / "db.sqlite"))
    inside, overlaps = [], []

    def write():
        for _ in range(50):
            assert lock.acquire()
            inside.append(1)
            if len(inside) > 1:
                overlaps.append(len(inside))
            inside.pop()
            lock.release()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []


def test_a_forked_child_has_a_lock_of_its_own(tmp_path):
    """flock belongs to the open file: without opening it again, a child would share its parent's lock."""
    path = str(tmp_path / "db.sqlite")
    lock = sqlite_writers.lock_for(path)
    assert lock.acquire()
    try:
        ctx = multiprocessing.get_context("fork")
        result = ctx.Queue()
        child = ctx.Process(target=lambda: result.put(sqlite_writers.lock_for(path).acquire(timeout=0.3)))
        child.start()
        assert result.get(timeout=10) is False  # the parent holds it: the child waits like any process
        child.join(10)
    finally:
        lock.release()


def test_the_app_takes_the_lock_for_a_write_and_gives_it_back_at_commit(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    raw = db.session.connection().connection.dbapi_connection
    assert isinstance(raw, sqlite_writers.Connection) and raw.writer_lock is not None
    db.session.execute(text("SELECT 1"))
    assert not raw._holding  # reads never wait
    db.session.execute(text("UPDATE settings SET key = key WHERE 0"))
    assert raw._holding
    db.session.commit()
    assert not raw._holding
