"""The morning digest in the worker: the minute loop that claims due digests,
and the RQ job that sends one of them on one channel (issue 16, part 4).

``DigestLoop`` is a SingletonLoop (one worker at a time holds its Redis lock):
every minute it queues the sends it claimed (services.morning_digest) and
re-queues sends whose job was lost. The job ``send(send_id)`` works like the
delivery job, on its own rows (``digest_sends``) so that a digest needs no
event: an atomic UPDATE claims the row with a lease while it is open and due,
the outcome is written only while the lease is still ours, a transient failure
is retried with the delivery back-off (``rq.Retry``), and an email counts as
sent once the server accepted it (before QUIT). Nothing is sent twice.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from flask import Flask
from rq.job import Job, Retry
from sqlalchemy import and_, or_, select, update

from notifier import channels
from notifier.channels import Permanent, Transient
from notifier.channels import digest as content
from notifier.extensions import db
from notifier.models import DigestSend, MorningDigest, Subscriber, utcnow
from notifier.pipeline.delivery import Outcome, outcome_values, when_due, write_leased
from notifier.pipeline.queueing import FAILURE_TTL, discard_job, get_queue, worker_connection
from notifier.runtime.singleton_loop import SingletonLoop
from notifier.services import morning_digest

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
JOB_TIMEOUT = 55
STALE_PENDING = timedelta(minutes=1)
OPEN = ("pending", "retrying")
_RERUNNABLE = {"finished", "failed", "stopped", "canceled"}

LOCK_KEY = "digest:loop-lock"
LOCK_TTL = 150  # a dead loop's lock is free after this at most
INTERVAL = 60   # seconds between rounds


def job_id(send_id: int) -> str:
    return f"digest-send-{send_id}"


# -- queueing ---------------------------------------------------------------------

def enqueue(send_ids: list[int], replace: frozenset[str] = frozenset()) -> int:
    """Queue one job per send that has no live job; returns how many. Raises if Redis is down."""
    ids = sorted(set(send_ids))
    if not ids:
        return 0
    queue = get_queue()
    jobs = Job.fetch_many([job_id(i) for i in ids], connection=queue.connection)
    todo = []
    for send_id, job in zip(ids, jobs):
        if job is not None:
            if job.get_status(refresh=False) not in _RERUNNABLE | replace:
                continue  # queued, scheduled or running already
            discard_job(job)
        todo.append(send_id)
    for send_id in todo:
        queue.enqueue_call(send, args=(send_id,), job_id=job_id(send_id), timeout=JOB_TIMEOUT,
                           result_ttl=0, failure_ttl=FAILURE_TTL, description=f"digest send {send_id}")
    return len(todo)


def requeue_stale(now: datetime) -> int:
    """Open sends whose job was lost: pending for a minute, or retrying and due, lease free."""
    ids = list(db.session.scalars(
        select(DigestSend.id).where(
            or_(and_(DigestSend.status == "pending", DigestSend.created_at < now - STALE_PENDING),
                and_(DigestSend.status == "retrying", DigestSend.next_attempt_at <= now)),
            _lease_free(now)).order_by(DigestSend.id).limit(500)))
    return enqueue(ids, replace=frozenset({"started"})) if ids else 0


def _lease_free(now: datetime):
    return or_(DigestSend.locked_until.is_(None), DigestSend.locked_until < now)


# -- the job --------------------------------------------------------------------------

def send(send_id: int) -> Retry | None:
    """The RQ job: send the digest on this channel once, or record why not."""
    now = utcnow()
    lease = now + LEASE
    claimed = db.session.execute(
        update(DigestSend)
        .where(DigestSend.id == send_id, DigestSend.status.in_(OPEN), _lease_free(now),
               or_(DigestSend.next_attempt_at.is_(None), DigestSend.next_attempt_at <= now))
        .values(locked_until=lease, updated_at=now).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if claimed != 1:
        return _not_claimed(send_id, now)
    recorded: list[Retry | None] = []

    def accepted(outcome: Outcome) -> None:
        """The mail server has it: record «sent» before the session closes."""
        try:
            recorded.append(_finish(send_id, lease, outcome))
        except Exception:
            db.session.rollback()
            log.exception("digest send %s: accepted by the server, not yet recorded", send_id)

    try:
        outcome = _attempt(db.session.get(DigestSend, send_id), accepted)
    except Exception as exc:  # a bug or a dead database: retry rather than stay stuck
        if recorded:
            return recorded[0]
        log.exception("digest send %s: unexpected error", send_id)
        db.session.rollback()
        outcome = Outcome("transient", f"Внутренняя ошибка: {type(exc).__name__}")
    if recorded:
        return recorded[0]
    return _finish(send_id, lease, outcome)


def _attempt(row: DigestSend, accepted: Callable[[Outcome], None]) -> Outcome:
    digest: MorningDigest = row.digest
    subscriber = db.session.get(Subscriber, digest.subscriber_id)
    channel = channels.get(row.channel)
    if subscriber is None:
        return Outcome("skipped", "Сотрудник удалён")
    if channel is None:
        return Outcome("skipped", f"Неизвестный канал: {row.channel}")
    reason = channel.unavailable(subscriber)
    if reason:
        return Outcome("skipped", reason)
    note = content.build(digest, subscriber)
    if not note.calls:
        return Outcome("skipped", "Звонки сводки удалены")
    address = channel.address(subscriber)
    sent = Outcome("sent", address=address)
    try:
        if row.channel == "email":
            content.send_email(note, address, f"digest-{row.id}.{digest.day:%Y%m%d}", lambda: accepted(sent))
        else:
            content.send_telegram(note, subscriber.telegram_chat_id)
    except Transient as exc:
        return Outcome("transient", str(exc), exc.retry_after, address=address)
    except Permanent as exc:
        return Outcome("permanent", str(exc), address=address)
    return sent


def _not_claimed(send_id: int, now: datetime) -> Retry | None:
    """Done, held by another worker, or not due yet; in the last case come back when due."""
    return when_due(db.session.get(DigestSend, send_id), now)


def _finish(send_id: int, lease: datetime, outcome: Outcome) -> Retry | None:
    """Write the outcome while the lease is ours; ``Retry`` after a transient failure."""
    now = utcnow()
    row = db.session.get(DigestSend, send_id, populate_existing=True)
    if row is None:
        return None
    values, wait = outcome_values(outcome, row.attempts, now)
    if not write_leased(DigestSend, send_id, lease, values):
        log.warning("digest send %s: lease lost before the outcome (%s) was written", send_id, outcome.status)
        return None
    db.session.commit()
    return Retry(max=10**6, interval=wait) if wait is not None else None


# -- the loop ------------------------------------------------------------------------

def run_round(now: datetime | None = None, done: date | None = None) -> date | None:
    """Claim what is due at ``now`` and queue it, re-queue lost sends; the day now done.

    Claimed sends whose queueing fails stay pending: the next round re-queues them."""
    result = morning_digest.claim_due(now or utcnow(), done)
    try:
        enqueue(result.send_ids)
        requeue_stale(utcnow())  # leases and staleness are real time, whatever day ``now`` says
    except Exception as exc:  # Redis away: the rows are pending, a later round queues them
        log.warning("morning digest: could not queue sends (%s)", exc)
    return result.done


class DigestLoop(SingletonLoop):
    name = "morning-digest"

    def __init__(self, app: Flask, connection=None, interval: float = INTERVAL,
                 clock: Callable[[], datetime] = utcnow):
        super().__init__(connection or worker_connection(app), LOCK_KEY, LOCK_TTL)
        self.app = app
        self.interval = interval
        self.clock = clock
        self.done: date | None = None  # the day whose digests are all claimed

    def step(self) -> float:
        if not self.hold_lock():
            return self.interval
        with self.app.app_context():
            try:
                self.done = run_round(self.clock(), self.done)
            finally:
                db.session.remove()
        self.failures = 0
        return self.interval


def start(app: Flask) -> DigestLoop:
    """The worker's digest thread (see notifier.pipeline.worker.main)."""
    return DigestLoop(app).start()
