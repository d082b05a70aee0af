"""Sending one notification of one event to one employee on one channel.

Interface used by processing, the sweep and the «Журнал» page:
``send_now(FirstTry)`` (processing's first try, inside the event's
own job), ``enqueue(delivery_ids)``, ``deliver(delivery_id)`` (the RQ job of
a retry), ``retry(delivery_id)`` and ``requeue_stale()``.

The first try of every delivery is made by the event's job itself, right
after the decision (``send_now``): the deliveries are created already claimed,
in the decision's transaction, and the channels are sent at the same time. A
job per delivery only exists for what needs another try (issue 15: three jobs
per event cost more than the sends).

Why it is safe to run a job twice, or two workers at once: the database, not
Redis, decides. ``deliver`` first claims the row with an atomic UPDATE that
takes a lease (``locked_until``) only while the delivery is still open
(pending / retrying, due) and no other worker holds it. One worker wins; the
others find nothing to do. The lease outlives the job timeout, so a stuck
send is killed before anyone else may claim the row. The final state is
written only while the lease is still ours (a fencing check).

Retries: a transient failure stores ``retrying`` with ``next_attempt_at``
and returns ``rq.Retry`` so the same job (id ``delivery-<id>``) is scheduled
again by the worker's scheduler. If Redis loses that job, ``requeue_stale``
(called by the outbox sweep) finds the due row in the database and queues it.
"""
from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from rq import Queue
from rq.job import Job, Retry
from sqlalchemy import and_, or_, select, update

from notifier import channels
from notifier.channels import Permanent, Transient, recordings
from notifier.channels import checks as channel_checks
from notifier.channels.notification import Notification, build
from notifier.core import retry_policy
from notifier.extensions import db
from notifier.models import Delivery, Subscriber, utcnow
from notifier.pipeline.intake import process_job_id
from notifier.pipeline.queueing import FAILURE_TTL, JOB_TIMEOUT, discard_job, get_queue
from notifier.runtime.redis_conn import get_redis
from notifier.services import settings
from notifier.telegram import link as telegram_link

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
STALE_PENDING = timedelta(minutes=1)
SWEEP_BATCH = 500
OPEN = ("pending", "retrying")
# RQ job states after which the job will not run again by itself.
_RERUNNABLE = {"finished", "failed", "stopped", "canceled"}
# ... and of those, the ones that ended without finishing.
_GONE = {"failed", "stopped", "canceled"}


def job_id(delivery_id: int) -> str:
    return f"delivery-{delivery_id}"


# -- queueing ---------------------------------------------------------------------

def enqueue(delivery_ids: list[int]) -> None:
    """Queue one job per delivery; never raises (the sweep catches up after a Redis outage)."""
    ids = sorted({int(i) for i in delivery_ids})
    if not ids:
        return
    try:
        _enqueue(get_queue(), ids)
    except Exception as exc:  # Redis down or slow: requeue_stale() will queue them
        log.warning("could not queue deliveries %s (%s); the sweep will retry", ids, exc)


def _enqueue(queue: Queue, ids: list[int], replace: frozenset[str] = frozenset()) -> int:
    """Queue the deliveries that have no live job; one pipeline for the lot.

    A job that is queued, scheduled or running already is left alone (the
    de-duplication); a finished or failed one is replaced, and so are jobs in
    the states listed in ``replace``: «Повторить» replaces a job waiting for
    its retry time (it means now); the sweep, which only looks at rows whose
    lease is free, replaces "started" jobs too (their worker died mid-send).
    """
    conn = queue.connection
    with conn.pipeline(transaction=False) as pipe:
        for i in ids:
            pipe.hget(Job.key_for(job_id(i)), "status")
        statuses = [s.decode() if isinstance(s, bytes) else s for s in pipe.execute()]
    replace = _RERUNNABLE | replace
    todo = [i for i, status in zip(ids, statuses) if status is None or status in replace]
    old = [i for i, status in zip(ids, statuses) if status in replace]
    if not todo:
        return 0
    old_jobs = [job for job in Job.fetch_many([job_id(i) for i in old], connection=conn) if job]
    with conn.pipeline() as pipe:
        for job in old_jobs:
            discard_job(job, pipeline=pipe)
        queue.enqueue_many([
            Queue.prepare_data(deliver, (i,), job_id=job_id(i), timeout=JOB_TIMEOUT,
                               result_ttl=0, failure_ttl=FAILURE_TTL,
                               description=f"delivery {i}")
            for i in todo
        ], pipeline=pipe)
        pipe.execute()
    return len(todo)


def retry(delivery_id: int) -> bool:
    """«Повторить»: a failed (or retrying) delivery goes back to pending and is queued now.

    Attempts are kept. False when the delivery is not failed/retrying or a
    worker is sending it right now.
    """
    now = utcnow()
    return _back_to_pending(delivery_id, now, Delivery.status.in_(("failed", "retrying")), _lease_free(now))


def _back_to_pending(delivery_id: int, now: datetime, *conditions) -> bool:
    """Set the delivery pending (if ``conditions`` still hold) and queue it now;
    False when the row did not qualify. Redis down: the sweep queues it later."""
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, *conditions)
        .values(status="pending", next_attempt_at=None, updated_at=now)
        .execution_options(synchronize_session=False))
    db.session.commit()
    if result.rowcount != 1:
        return False
    try:
        _enqueue(get_queue(), [delivery_id], replace=frozenset({"scheduled", "started"}))
    except Exception as exc:  # the row is pending: the sweep queues it
        log.warning("could not queue delivery %s (%s); the sweep will retry", delivery_id, exc)
    return True


# «Отправить» for a skipped delivery (the channel was not set up yet, the employee
# had no address): offered for events this recent, so a channel configured today
# does not flood anyone with last month's missed calls.
SEND_SKIPPED_WITHIN = timedelta(days=3)


def sendable_now(row: Delivery, now: datetime) -> bool:
    """A skipped delivery of a recent event that the channel could now send."""
    if row.status != "skipped" or row.event is None or now - row.event.received_at > SEND_SKIPPED_WITHIN:
        return False
    channel = channels.get(row.channel)
    subscriber = db.session.get(Subscriber, row.subscriber_id) if row.subscriber_id else None
    return channel is not None and subscriber is not None and channel.unavailable(subscriber) is None


def send_skipped(delivery_id: int) -> bool:
    """«Отправить»: a sendable skipped delivery goes to pending and is queued now.

    False when it is not skipped (any more), its event is too old, or the
    channel still cannot reach the employee. The send itself decides again."""
    now = utcnow()
    row = db.session.get(Delivery, delivery_id)
    if row is None or not sendable_now(row, now):
        db.session.rollback()
        return False
    return _back_to_pending(delivery_id, now, Delivery.status == "skipped")


def requeue_stale(now: datetime | None = None) -> int:
    """For the outbox sweep: queue open deliveries whose job was lost; returns how many.

    Pending for more than a minute, or retrying and due, with no lease held;
    and at once those whose job RQ has given up on (``_abandoned``).
    Raises if Redis is down (the sweep runs again later).
    """
    now = now or utcnow()
    queue = get_queue()
    abandoned = _abandoned(queue)
    ids = list(db.session.scalars(
        select(Delivery.id).where(
            or_(and_(Delivery.status == "pending", Delivery.created_at < now - STALE_PENDING),
                and_(Delivery.status == "retrying", Delivery.next_attempt_at <= now)),
            _lease_free(now))
        .order_by(Delivery.id).limit(SWEEP_BATCH)))
    ids = sorted(set(ids) | set(abandoned))
    return _enqueue(queue, ids, replace=frozenset({"started"})) if ids else 0


def _abandoned(queue: Queue) -> list[int]:
    """Open deliveries whose job is failed or stopped, e.g. abandoned by a
    killed worker (RQ marks it failed within ~30 s): queue them now, without
    waiting for their age or lease. The job is the delivery's own, or for a
    first try that never finished, its event's job (``send_now``). Their
    leases are freed: no worker is sending them (a live send keeps its job
    "started"). A missing job proves nothing (Redis may have lost it), so
    those wait for the lease."""
    rows = db.session.execute(
        select(Delivery.id, Delivery.event_id, Delivery.locked_until)
        .where(Delivery.status.in_(OPEN)).order_by(Delivery.id).limit(SWEEP_BATCH)).all()
    if not rows:
        return []
    with queue.connection.pipeline(transaction=False) as pipe:
        for delivery_id, event_pk, _ in rows:
            pipe.hget(Job.key_for(job_id(delivery_id)), "status")
            pipe.hget(Job.key_for(process_job_id(event_pk)), "status")
        statuses = [s.decode() if isinstance(s, bytes) else s for s in pipe.execute()]
    found = []
    for n, (delivery_id, _, locked_until) in enumerate(rows):
        own, first_try = statuses[2 * n], statuses[2 * n + 1]
        if (own or first_try) not in _GONE:
            continue
        if locked_until is not None:
            result = db.session.execute(
                update(Delivery).where(Delivery.id == delivery_id, Delivery.locked_until == locked_until)
                .values(locked_until=None).execution_options(synchronize_session=False))
            if result.rowcount != 1:
                continue
        found.append(delivery_id)
    db.session.commit()
    if found:
        log.info("deliveries %s: their jobs were abandoned; queued again", found)
    return found


def _lease_free(now: datetime):
    return or_(Delivery.locked_until.is_(None), Delivery.locked_until < now)


# -- the job --------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    status: str                     # sent | skipped | transient | permanent
    error: str | None = None
    retry_after: float | None = None
    unlink: bool = False
    address: str | None = None


def deliver(delivery_id: int) -> Retry | None:
    """The RQ job: send the delivery once, or record why not; ``Retry`` to try again later."""
    now = utcnow()
    lease = now + LEASE
    claimed = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status.in_(OPEN), _lease_free(now),
               or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now))
        .values(locked_until=lease, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if claimed != 1:
        return _not_claimed(delivery_id, now)
    if _was_accepted(delivery_id):
        log.info("delivery %s: its server had taken it when the last try stopped; recorded, not sent again",
                 delivery_id)
        return _finish(delivery_id, lease, Outcome("sent"))
    return _send_claimed(delivery_id, lease, lambda on_sent: attempt(db.session.get(Delivery, delivery_id), on_sent))


@dataclass(frozen=True)
class FirstTry:
    """What processing hands to ``send_now``: everything a send needs, read in
    the decision's transaction, so the sends query nothing but their outcome.
    ``subscriber`` is detached from its session: the send threads only read it."""

    note: Notification
    subscriber: Subscriber
    event_id: str                       # the contract's id: part of each message key
    deliveries: list[tuple[int, str]]   # (delivery id, channel), created claimed under ``lease``
    lease: datetime


def send_now(first: FirstTry) -> None:
    """Send an event's deliveries that processing created already claimed: one
    channel in this thread, the others at the same time in threads of their
    own, the recording fetched once for all. A transient failure becomes the
    delivery's own job, scheduled for its retry; if Redis cannot take it, the
    sweep queues it when due."""
    if not first.deliveries:
        return
    app = current_app._get_current_object()
    digest = _digest(first.event_id)
    skipped = {i: _skipped(channels.get(name), first.subscriber, name) for i, name in first.deliveries}
    recording = _recording(first.note) if None in skipped.values() else (None, None)

    def send(delivery_id: int, channel_name: str) -> Retry | None:
        key = f"delivery-{delivery_id}.{digest}"
        return _send_claimed(delivery_id, first.lease, lambda on_sent: skipped[delivery_id] or _send(
            channels.get(channel_name), first.note, first.subscriber, recording, key, on_sent),
            _Row(channel_name, 0, first.subscriber.id))

    (here, *elsewhere) = first.deliveries
    futures = [(i, _senders().submit(_in_job_context, app, send, i, name)) for i, name in elsewhere]
    results = [(here[0], send(*here))] + [(i, future.result()) for i, future in futures]
    for delivery_id, retry_ in results:
        if retry_ is not None:
            _schedule(delivery_id, retry_.intervals[0] if retry_.intervals else 0)


_SENDER_THREADS = 16
_sender_pool: ThreadPoolExecutor | None = None
_sender_pool_lock = threading.Lock()


def _senders() -> ThreadPoolExecutor:
    """The process's threads for a second channel's send (created on first use: the web never needs them)."""
    global _sender_pool
    with _sender_pool_lock:
        if _sender_pool is None:
            _sender_pool = ThreadPoolExecutor(_SENDER_THREADS, thread_name_prefix="send")
        return _sender_pool


def _in_job_context(app, fn, *args):
    with app.app_context():
        settings.remember_for_this_job()
        return fn(*args)


def _schedule(delivery_id: int, seconds: float) -> None:
    """The delivery's own job, due in ``seconds`` (a retry of a send made by ``send_now``)."""
    try:
        get_queue().enqueue_in(
            timedelta(seconds=seconds), deliver, delivery_id, job_id=job_id(delivery_id), job_timeout=JOB_TIMEOUT,
            result_ttl=0, failure_ttl=FAILURE_TTL, description=f"delivery {delivery_id}")
    except Exception as exc:  # the row says retrying and when: requeue_stale() queues it when due
        log.warning("could not schedule the retry of delivery %s (%s); the sweep will", delivery_id, exc)


def _send_claimed(delivery_id: int, lease: datetime,
                  make: Callable[[Callable[[Outcome], None]], Outcome], row: _Row | None = None) -> Retry | None:
    """Send a delivery whose lease (``lease``) is ours with ``make(on_sent)``, and record the outcome."""
    recorded: list[Retry | None] = []

    def record_sent(outcome: Outcome) -> None:
        """The server has the message: write «sent» before the channel closes its session."""
        _remember_accepted(delivery_id)
        try:
            recorded.append(_finish(delivery_id, lease, outcome, row))
        except Exception:  # the database is away: tried again below, after the send
            db.session.rollback()
            log.exception("delivery %s: accepted by the server, not yet recorded", delivery_id)

    try:
        outcome = make(record_sent)
    except Exception as exc:  # a bug or a dead database: retry rather than stay stuck
        if recorded:
            log.exception("delivery %s: error after the send was recorded", delivery_id)
            return recorded[0]
        log.exception("delivery %s: unexpected error", delivery_id)
        db.session.rollback()
        outcome = Outcome("transient", f"Внутренняя ошибка: {type(exc).__name__}")
    if recorded:  # nothing after the acceptance changes the outcome
        return recorded[0]
    if outcome.status == "sent":
        _remember_accepted(delivery_id)
    return _finish(delivery_id, lease, outcome, row)


# The moment a server takes a message, a mark in Redis says so, before «sent» is
# written to the database: that write may wait for the database's writer lock
# behind other sends, and a worker killed meanwhile left a delivery that its next
# try sent again (issue 15: with eight jobs at once, 3 of 120 notifications per
# SIGKILL in `make bench`). The next try finds the mark and records the send.
ACCEPTED_TTL = 7 * 24 * 3600


def _accepted_key(delivery_id: int) -> str:
    return f"delivery:{delivery_id}:accepted"


def _remember_accepted(delivery_id: int) -> None:
    try:
        get_redis().set(_accepted_key(delivery_id), 1, ex=ACCEPTED_TTL)
    except Exception as exc:  # Redis away: the database write right after is the record
        log.warning("delivery %s: could not mark it accepted in Redis (%s)", delivery_id, exc)


def _was_accepted(delivery_id: int) -> bool:
    try:
        return bool(get_redis().exists(_accepted_key(delivery_id)))
    except Exception as exc:  # Redis away: as before the mark existed, the database decides
        log.warning("delivery %s: could not read its accepted mark (%s)", delivery_id, exc)
        return False


def _not_claimed(delivery_id: int, now: datetime) -> Retry | None:
    """Done, held by another worker, or not due yet; in the last case come back when due."""
    retry_ = when_due(db.session.get(Delivery, delivery_id), now)
    if retry_ is None:
        log.info("delivery %s: nothing to do (done or held by another worker)", delivery_id)
    return retry_


def when_due(row, now: datetime) -> Retry | None:
    """For a leased row not claimed (a delivery, a digest send): ``Retry`` for when a
    retrying row is due, else None (done, or held by another worker). Ends the read."""
    due = row.next_attempt_at if row is not None and row.status == "retrying" else None
    db.session.rollback()
    if due is not None and due > now:
        return Retry(max=10**6, interval=max(1, math.ceil((due - now).total_seconds())))
    return None


def write_leased(model, row_id: int, lease: datetime, values: dict) -> bool:
    """Write an outcome on a leased row (fencing) while the lease is still ours;
    False, rolled back, when it is not."""
    written = db.session.execute(
        update(model).where(model.id == row_id, model.locked_until == lease)
        .values(**values).execution_options(synchronize_session=False)).rowcount
    if written != 1:
        db.session.rollback()
        return False
    return True


def message_key(delivery: Delivery) -> str:
    """The same for every try of one delivery, different for any other delivery:
    its id, and a digest of its event's id (ids start again in a new database)."""
    return f"delivery-{delivery.id}.{_digest(delivery.event.event_id)}"


def _digest(event_id: str) -> str:
    return hashlib.sha256(event_id.encode("utf-8", "replace")).hexdigest()[:16]


def attempt(delivery: Delivery, on_sent: Callable[[Outcome], None] | None = None) -> Outcome:
    """Decide skipped, or send; the outcome says what happened.

    Nothing is written here, except through ``on_sent``: a channel that has
    more to say after the far side accepted the message (SMTP's QUIT) calls it
    with the «sent» outcome at that moment (channels.Attempt)."""
    channel = channels.get(delivery.channel)
    subscriber = db.session.get(Subscriber, delivery.subscriber_id) if delivery.subscriber_id else None
    skipped = _skipped(channel, subscriber, delivery.channel)
    if skipped:
        return skipped
    note = build(delivery.event, subscriber, delivery.subscriber_number)
    return _send(channel, note, subscriber, _recording(note), message_key(delivery), on_sent)


def _skipped(channel, subscriber: Subscriber | None, channel_name: str) -> Outcome | None:
    """Why the delivery cannot be sent now (a «skipped» outcome), or None."""
    if channel is None:
        return Outcome("skipped", f"Неизвестный канал: {channel_name}")
    if subscriber is None:
        return Outcome("skipped", "Сотрудник удалён")
    reason = channel.unavailable(subscriber)
    return Outcome("skipped", reason) if reason else None


def _send(channel, note: Notification, subscriber: Subscriber,
          recording: tuple[recordings.Recording | None, str | None], key: str,
          on_sent: Callable[[Outcome], None] | None) -> Outcome:
    address = channel.address(subscriber)
    sent = Outcome("sent", address=address)
    handoff = channels.Attempt(key, lambda: on_sent(sent)) if on_sent else channels.Attempt(key)
    try:
        channel.send(note, subscriber, *recording, handoff)
    except Transient as exc:
        return Outcome("transient", str(exc), exc.retry_after, address=address)
    except Permanent as exc:
        return Outcome("permanent", str(exc), unlink=exc.unlink, address=address)
    return sent


def _recording(note: Notification) -> tuple[recordings.Recording | None, str | None]:
    if not note.is_voicemail or not note.recording_url:
        return None, None
    try:
        return recordings.fetch(note.recording_url), None
    except recordings.RecordingUnavailable as exc:
        return None, str(exc)


@dataclass(frozen=True)
class _Row:
    """What writing an outcome needs of the delivery."""

    channel: str
    attempts: int
    subscriber_id: int | None


def _finish(delivery_id: int, lease: datetime, outcome: Outcome, row: _Row | None = None) -> Retry | None:
    """Write the outcome while the lease is still ours; ``Retry`` for a transient failure.

    ``row``: the delivery as known (a first try knows it); read afresh otherwise."""
    now = utcnow()
    if row is None:
        delivery = db.session.get(Delivery, delivery_id, populate_existing=True)
        if delivery is None:
            return None
        row = _Row(delivery.channel, delivery.attempts, delivery.subscriber_id)
    channel_name = row.channel
    values, wait = outcome_values(outcome, row.attempts, now)
    if not write_leased(Delivery, delivery_id, lease, values):
        log.warning("delivery %s: lease lost before the outcome (%s) was written", delivery_id, outcome.status)
        return None
    _unlink_if_blocked(row.subscriber_id, outcome)
    db.session.commit()
    _record_health(channel_name, outcome)
    if wait is not None:
        return Retry(max=10**6, interval=wait)
    return None


def outcome_values(outcome: Outcome, attempts_before: int, now: datetime) -> tuple[dict, float | None]:
    """What an outcome writes on a leased row (a delivery, a digest send: the same
    columns), and for a failure worth another try the seconds until it."""
    attempts = attempts_before + (0 if outcome.status == "skipped" else 1)
    values: dict = {"attempts": attempts, "locked_until": None, "next_attempt_at": None,
                    "last_error": outcome.error, "updated_at": now}
    if outcome.address:
        values["address"] = outcome.address[:254]
    wait = None
    if outcome.status == "sent":
        values.update(status="sent", sent_at=now)
    elif outcome.status == "skipped":
        values.update(status="skipped")
    elif outcome.status == "permanent":
        values.update(status="failed")
    elif retry_policy.gives_up(attempts):
        values.update(status="failed", last_error=f"{outcome.error} (попыток: {attempts}, повторы прекращены)")
    else:
        wait = retry_policy.delay(attempts, outcome.retry_after,
                                  base=float(current_app.config.get("DELIVERY_RETRY_BASE", retry_policy.BASE)))
        values.update(status="retrying", next_attempt_at=now + timedelta(seconds=wait))
    return values, wait


def _unlink_if_blocked(subscriber_id: int | None, outcome: Outcome) -> None:
    """Telegram 403 (bot blocked, user deactivated): the employee shows as not linked."""
    if outcome.unlink and subscriber_id:
        subscriber = db.session.get(Subscriber, subscriber_id)
        if subscriber is not None and subscriber.telegram_chat_id is not None:
            telegram_link.unlink(subscriber, outcome.error or "Telegram отказал в доставке")


def _record_health(channel_name: str, outcome: Outcome) -> None:
    """Channel health for the settings page, best effort and after the outcome is
    committed: a clash on the status row must never undo a recorded send."""
    channel = channels.get(channel_name)
    if channel is None or outcome.status not in ("sent", "transient"):
        return
    try:
        if outcome.status == "sent":
            channel_checks.record_ok_now_and_then(channel.health_key, 60)
        else:
            channel_checks.record(channel.health_key, outcome.error)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.warning("could not record %s health: %s", channel_name, exc)
