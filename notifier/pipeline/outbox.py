"""The outbox sweep: whatever was stored but is not (or no longer) queued gets
queued, so an acknowledged event survives a Redis outage or a lost job.

Run every SWEEP_INTERVAL seconds by ``python worker.py`` in a thread beside
RQ's loop (``Sweeper``); a Redis lock lets one worker sweep at a time.
``sweep()`` is one pass (tests call it directly). It finds, among events not
yet processed:

- ``queued_at`` NULL: intake could not reach Redis (older than NEW_GRACE);
- ``queued_at`` older than STALE_AFTER: queued once, but the job may be lost
  (Redis restarted without its data, a crash between commit and enqueue, a job
  that failed). Such an event is queued again only when its job is not waiting
  or running, so a long backlog is not duplicated.

Then it lets the delivery half re-queue its own lost jobs
(``delivery.requeue_stale()``). Processing is idempotent, so a rare double run
costs nothing but time.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from flask import Flask
from redis.exceptions import LockError, RedisError
from rq.job import Job, JobStatus
from sqlalchemy import and_, or_, select, update

from notifier.extensions import db
from notifier.models import Event, utcnow
from notifier.pipeline import delivery
from notifier.pipeline.intake import enqueue_processing, process_job_id
from notifier.pipeline.queueing import discard_job, get_queue
from notifier.runtime.redis_conn import get_redis
from notifier.services import telegram_threads

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 15
NEW_GRACE = timedelta(seconds=5)
STALE_AFTER = timedelta(seconds=20)  # a job's liveness is checked at most this often
BATCH = 500
MAX_PER_PASS = 20 * BATCH  # after a long outage: the rest next pass, so one pass stays well under LOCK_TTL
LOCK_KEY = "outbox:sweep-lock"
LOCK_TTL = 120

_ALIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED,
          JobStatus.CREATED, JobStatus.READY_TO_ENQUEUE}


def _due(now, after_id: int) -> list[int]:
    """Unprocessed events that need a look, by pk."""
    return list(db.session.scalars(
        select(Event.id).where(
            Event.processed_at.is_(None),
            Event.id > after_id,
            or_(and_(Event.queued_at.is_(None), Event.received_at < now - NEW_GRACE),
                Event.queued_at < now - STALE_AFTER),
        ).order_by(Event.id).limit(BATCH)
    ))


def _job_alive(job: Job | None, queue, taken: set[str]) -> bool:
    if job is None:
        return False
    if job.get_status(refresh=False) in _ALIVE and job.id not in taken:
        return True
    discard_job(job)  # finished/failed/stopped, or stuck, but the event is unprocessed: start afresh
    if job.id in taken:
        queue.connection.lrem(queue.intermediate_queue_key, 0, job.id)
    return False


def _taken(queue) -> set[str]:
    """Jobs a worker took from the queue and never started: RQ's intermediate
    queue, where a job waits for milliseconds between the worker's dequeue and
    its start, unless the worker died in between (then RQ itself puts it back
    only after a minute). The events looked at here were queued 20 s ago."""
    return {i.decode() if isinstance(i, bytes) else i
            for i in queue.connection.lrange(queue.intermediate_queue_key, 0, -1)}


def requeue_events(now: datetime | None = None) -> int:
    """Queue unprocessed events whose job is missing; returns how many were queued.

    ``now`` decides which events are old enough (tests pass a later time)."""
    now = now or utcnow()
    queued = looked = after_id = 0
    while True:
        due = _due(now, after_id)
        if not due:
            break
        after_id = due[-1]
        jobs = Job.fetch_many([process_job_id(pk) for pk in due], connection=get_redis())
        queue = get_queue()
        taken = _taken(queue)
        sent = [pk for pk, job in zip(due, jobs) if not _job_alive(job, queue, taken)]
        if sent:
            enqueue_processing(sent)
        # Alive or re-queued: either way look again only after STALE_AFTER.
        db.session.execute(update(Event).where(Event.id.in_(due)).values(queued_at=utcnow()))
        db.session.commit()
        queued += len(sent)
        looked += len(due)
        if len(due) < BATCH or looked >= MAX_PER_PASS:
            break
    if queued:
        log.info("outbox: queued %d event(s)", queued)
    return queued


def sweep(now: datetime | None = None) -> dict:
    """One pass: events, then deliveries and Telegram edits whose job was lost."""
    return {"events": requeue_events(now), "deliveries": delivery.requeue_stale(now),
            "telegram_edits": telegram_threads.requeue_stale(now)}


class Sweeper:
    """The worker's sweep thread: one pass every SWEEP_INTERVAL seconds when
    this worker holds the lock (the TTL frees it if the worker dies)."""

    def __init__(self, app: Flask, interval: float = SWEEP_INTERVAL):
        self.app = app
        self.interval = interval
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> dict | None:
        """One pass under the lock; None when another worker is sweeping."""
        with self.app.app_context():
            try:
                lock = get_redis().lock(LOCK_KEY, timeout=LOCK_TTL, thread_local=False)
                if not lock.acquire(blocking=False):
                    return None
                try:
                    return sweep()
                finally:
                    try:
                        lock.release()
                    except (LockError, RedisError):
                        pass  # expired or Redis gone: the TTL frees it
            finally:
                db.session.remove()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.step()
            except Exception:  # Redis or the database is down: try again next round
                log.warning("outbox sweep failed", exc_info=True)
            self.stopping.wait(self.interval)

    def start(self) -> "Sweeper":
        self._thread = threading.Thread(target=self.run, name="outbox-sweeper", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
