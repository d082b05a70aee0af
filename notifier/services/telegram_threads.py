"""One Telegram message per missed caller and employee, edited as the calls go on.

Why a message of its own rather than one per event: a client who rings five
times should not flood the employee's chat. The first missed call sends a
message with the «Перезвоню» button; a repeat call from the same number to the
same employee, while that message is open, edits it («3 пропущенных от …,
последний в 10:15»); pressing the button, and the caller being called back,
edit it again. An edit never sends a new message; a message Telegram no longer
lets the bot edit (deleted, too old) is left alone and the next call starts a
new one.

What the message should say lives in its row (``TelegramMessage``), bumped in
``version`` by every change; ``sync()`` brings Telegram up to ``version`` under
a lease, so edits neither race nor go back in time, and a 429 / 5xx is retried
(the edit job returns ``rq.Retry``; ``requeue_stale`` in the outbox sweep
catches lost jobs). Exactly once per call: ``TelegramMessageEvent`` (one row
per event and employee) is written in the same transaction as the count, and
the open message per caller is unique in the database (``open_key``), so two
repeat calls handled at once cannot both start a message.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from rq import Queue
from rq.job import Job, Retry
from sqlalchemy import and_, case, delete, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from notifier.channels.notification import Notification
from notifier.core import callbacks as cb
from notifier.core import localtime, phones, retry_policy
from notifier.extensions import db
from notifier.models import (
    MissedCall,
    Subscriber,
    TelegramMessage,
    TelegramMessageEvent,
    utcnow,
    valid_id,
)
from notifier.pipeline.queueing import discard_job, get_queue
from notifier.services import missed_calls, settings
from notifier.telegram import link
from notifier.telegram.api import (
    MESSAGE_LIMIT,
    BotAPI,
    TelegramPermanent,
    TelegramTransient,
    escape_html,
    inline_button,
    truncate_html,
)

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)     # a repeat call joins an open message at most this old
LEASE = timedelta(seconds=60)    # a first send or an edit in flight
EDIT_JOB_TIMEOUT = 55
EDIT_RETRY_BASE = 5.0            # edits back off from 5 s (sends: retry_policy.BASE)
EDIT_GIVE_UP = 2 * retry_policy.ROUND  # tries of one edit (hours of 429s / outage) before it is dropped
STALE_EDIT = timedelta(seconds=30)
SWEEP_BATCH = 200
TAKE_BUTTON = "Перезвоню"
_DATA = re.compile(r"cb:([1-9][0-9]{0,9})")
_ALIVE_JOB = {"queued", "started", "scheduled", "deferred"}

OPEN, CALLED_BACK, CLOSED, GONE = "open", "called_back", "closed", "gone"


class Busy(TelegramTransient):
    """The first message to this caller is still being sent: try again shortly."""


def callback_data(message_row_id: int) -> str:
    return f"cb:{message_row_id}"


# -- rendering ---------------------------------------------------------------------

def _local(moment: datetime) -> datetime:
    return localtime.in_zone(moment, settings.schedule().timezone)[0]


def _missed_word(n: int) -> str:
    return "пропущенный" if n % 10 == 1 and n % 100 != 11 else "пропущенных"


def after_text(seconds: int) -> str:
    """«через 12 мин», «через 1 ч 05 мин», «через 2 дн 3 ч»."""
    minutes = max(1, seconds // 60)
    if minutes < 60:
        return f"через {minutes} мин"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"через {hours} ч {minutes:02d} мин"
    days, hours = divmod(hours, 24)
    return f"через {days} дн {hours} ч"


def render(msg: TelegramMessage) -> tuple[str, dict | None]:
    """The message's Telegram HTML and keyboard for its current state; every value escaped."""
    e = escape_html
    if msg.missed_count > 1:
        caller = phones.display(msg.caller_key) if msg.caller_key else "скрытого номера"
        head = (f"<b>{msg.missed_count} {_missed_word(msg.missed_count)} от {e(caller)}, "
                f"последний в {_local(msg.last_missed_at):%H:%M}</b>")
    else:
        head = "<b>Пропущенный звонок</b>"
    lines = [head, msg.body] if msg.body else [head]
    markup = None
    if msg.state == CALLED_BACK:
        status = f"✅ Перезвонили: {e(msg.resolved_by or 'сотрудник')}"
        if msg.resolved_at is not None:
            status += f", {_local(msg.resolved_at):%H:%M}"
        if msg.resolved_after is not None:
            status += f", {after_text(msg.resolved_after)}"
        lines.append(f"<b>{status}</b>")
    elif msg.state == CLOSED:
        lines.append("<b>☑️ Закрыт вручную</b>")
    elif msg.taken_by:
        lines.append(f"<b>📞 Перезвонит: {e(msg.taken_by)}</b>")
    else:
        markup = inline_button(TAKE_BUTTON, callback_data(msg.id))
    text = "\n".join(lines)
    # Cut the body, never the status line, when a long name makes it too long.
    if len(text.encode("utf-16-le")) // 2 > MESSAGE_LIMIT:
        tail = "\n" + lines[-1] if len(lines) > 2 else ""
        text = truncate_html("\n".join(lines[:2]), MESSAGE_LIMIT - len(tail.encode("utf-16-le")) // 2) + tail
    return text, markup


# -- the delivery of a missed call ------------------------------------------------------

def deliver(api: BotAPI, note: Notification, subscriber: Subscriber, body: str,
            on_sent: Callable[[], None] | None = None) -> None:
    """Send or edit the employee's message for the missed call ``note``.

    Safe to call again for the same event (a retried delivery): the call is
    counted once and the message brought up to date. Raises TelegramTransient /
    TelegramPermanent like a send (the channel maps them). ``on_sent`` runs the
    moment Telegram has taken a new message, before its id is written here.
    """
    on_sent = _once(on_sent)
    for _ in range(4):
        row = db.session.get(TelegramMessageEvent, (note.event_pk, subscriber.id), populate_existing=True)
        if row is not None:
            msg = db.session.get(TelegramMessage, row.telegram_message_id, populate_existing=True)
            if msg.message_id is None:
                _send_first(api, msg, on_sent=on_sent)
            if not sync(api, msg.id) and row.kind == "update":
                _restart(api, row, msg, note, body, on_sent)
            return
        resolved = _resolved(note.event_pk)
        if resolved is not None:  # called back before its message went out: say so at once
            msg = _start(note, subscriber, body, resolved)
            if msg is None:
                continue
            _send_first(api, msg, just_started=True, on_sent=on_sent)
            sync(api, msg.id)
            return
        msg = _open_message(subscriber.id, note.caller_key)
        if msg is not None and msg.message_id is None:
            if msg.claimed_until is not None and msg.claimed_until > utcnow():
                raise Busy("первое сообщение этому абоненту о звонках с этого номера ещё отправляется",
                           retry_after=2, method="sendMessage")
            _retire(msg, CLOSED)  # its sender gave up or died: this call starts afresh
            continue
        if msg is not None and _joinable(msg, note, subscriber):
            if not _join(msg, note, subscriber.id, body):
                continue
            row = db.session.get(TelegramMessageEvent, (note.event_pk, subscriber.id))
            if not sync(api, msg.id):
                _restart(api, row, db.session.get(TelegramMessage, msg.id), note, body, on_sent)
            return
        if msg is not None:
            _retire(msg, msg.state)  # too old to join: the next message takes its place
        msg = _start(note, subscriber, body)
        if msg is None:
            continue  # another worker started one for this caller a moment ago: join it
        _send_first(api, msg, just_started=True, on_sent=on_sent)
        sync(api, msg.id)
        return
    raise TelegramTransient("сообщение об этом номере меняется другим процессом", retry_after=2)


def _open_key(subscriber_id: int, caller_key: str | None) -> str | None:
    return f"{subscriber_id}:{caller_key}" if caller_key else None


def _open_message(subscriber_id: int, caller_key: str | None) -> TelegramMessage | None:
    key = _open_key(subscriber_id, caller_key)
    if key is None:
        return None
    return db.session.scalar(select(TelegramMessage).where(TelegramMessage.open_key == key)
                             .execution_options(populate_existing=True))


def _joinable(msg: TelegramMessage, note: Notification, subscriber: Subscriber) -> bool:
    """Open, recent, and in the chat the employee uses now (not one they left)."""
    return (msg.state == OPEN and abs(note.when - msg.last_missed_at) <= WINDOW
            and msg.chat_id == subscriber.telegram_chat_id)


def _retire(msg: TelegramMessage, state: str) -> None:
    """No more calls join ``msg``; committed."""
    db.session.execute(update(TelegramMessage).where(TelegramMessage.id == msg.id)
                       .values(open_key=None, state=state, updated_at=utcnow()))
    db.session.commit()


def _start(note: Notification, subscriber: Subscriber, body: str,
           resolved: Resolved | None = None) -> TelegramMessage | None:
    """A new message row claimed for sending (committed); None when another
    worker has just opened one for the same caller. A call already called back
    (``resolved``) gets a message of its own that no repeat call joins."""
    now = utcnow()
    msg = TelegramMessage(subscriber_id=subscriber.id, caller_key=note.caller_key,
                          open_key=None if resolved else _open_key(subscriber.id, note.caller_key),
                          chat_id=subscriber.telegram_chat_id, claimed_until=now + LEASE, body=body,
                          missed_count=1, first_missed_at=note.when, last_missed_at=note.when,
                          state=OPEN, version=1, shown_version=0, edit_attempts=0)
    if resolved is not None:
        msg.state, msg.resolved_by, msg.resolved_at = resolved.state, resolved.by, resolved.at
        msg.resolved_after = resolved.after_from(note.when)
    db.session.add(msg)
    try:
        db.session.flush()
        db.session.add(TelegramMessageEvent(event_id=note.event_pk, subscriber_id=subscriber.id,
                                            telegram_message_id=msg.id, kind="sent"))
        db.session.flush()
        db.session.expunge(msg)  # as written, for _send_first: the commit must not expire it
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return msg


def _join(msg: TelegramMessage, note: Notification, subscriber_id: int, body: str) -> bool:
    """Count the repeat call in ``msg`` (one atomic UPDATE, so concurrent calls
    all count) and record it; committed. False when that lost a race."""
    latest = TelegramMessage.last_missed_at < note.when
    when = literal(note.when, TelegramMessage.last_missed_at.type)  # stored in UTC like the column
    try:
        db.session.add(TelegramMessageEvent(event_id=note.event_pk, subscriber_id=subscriber_id,
                                            telegram_message_id=msg.id, kind="update"))
        db.session.flush()
        done = db.session.execute(
            update(TelegramMessage).where(TelegramMessage.id == msg.id, TelegramMessage.state == OPEN,
                                          TelegramMessage.open_key.is_not(None))
            .values(missed_count=TelegramMessage.missed_count + 1,
                    version=TelegramMessage.version + 1,
                    body=case((latest, body), else_=TelegramMessage.body),
                    last_missed_at=case((latest, when), else_=TelegramMessage.last_missed_at),
                    updated_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
        if done != 1:
            db.session.rollback()
            return False
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _restart(api: BotAPI, row: TelegramMessageEvent, old: TelegramMessage,
             note: Notification, body: str, on_sent: Callable[[], None] | None = None) -> None:
    """The message a repeat call joined can no longer be edited: this call
    gets a new message (and later calls join that one)."""
    _retire(old, GONE)
    msg = _start_moved(row, note, old.subscriber_id, old.chat_id, body)
    if msg is not None:
        _send_first(api, msg, on_sent=on_sent)
        sync(api, msg.id)


def _start_moved(row: TelegramMessageEvent, note: Notification, subscriber_id: int,
                 chat_id: int, body: str) -> TelegramMessage | None:
    now = utcnow()
    msg = TelegramMessage(subscriber_id=subscriber_id, caller_key=note.caller_key,
                          open_key=_open_key(subscriber_id, note.caller_key), chat_id=chat_id,
                          claimed_until=now + LEASE, body=body, missed_count=1,
                          first_missed_at=note.when, last_missed_at=note.when, state=OPEN,
                          version=1, shown_version=0, edit_attempts=0)
    db.session.add(msg)
    try:
        db.session.flush()
    except IntegrityError:  # another call opened one meanwhile: leave this one as counted there
        db.session.rollback()
        return None
    db.session.execute(update(TelegramMessageEvent)
                       .where(TelegramMessageEvent.event_id == row.event_id,
                              TelegramMessageEvent.subscriber_id == row.subscriber_id)
                       .values(telegram_message_id=msg.id, kind="sent"))
    db.session.commit()
    return msg


def _once(fn: Callable[[], None] | None) -> Callable[[], None] | None:
    if fn is None:
        return None
    done = []

    def call() -> None:
        if not done:
            done.append(True)
            fn()
    return call


def _send_first(api: BotAPI, msg: TelegramMessage, just_started: bool = False,
                on_sent: Callable[[], None] | None = None) -> None:
    """sendMessage for a claimed row and keep its message_id. A refusal that
    retrying will not change forgets the row, so the next call starts afresh.
    ``just_started``: ``msg`` is the row ``_start`` wrote a moment ago, claimed
    and as stored (no need to claim it again and read it back)."""
    if not just_started:
        db.session.execute(update(TelegramMessage).where(TelegramMessage.id == msg.id)
                           .values(claimed_until=utcnow() + LEASE))
        db.session.commit()
        msg = db.session.get(TelegramMessage, msg.id, populate_existing=True)
    version = msg.version
    text, markup = render(msg)
    try:
        sent = api.send_message(msg.chat_id, text, reply_markup=markup)
    except TelegramPermanent:
        db.session.execute(delete(TelegramMessage).where(TelegramMessage.id == msg.id))
        db.session.commit()
        raise
    if on_sent is not None:
        on_sent()
    db.session.execute(update(TelegramMessage).where(TelegramMessage.id == msg.id)
                       .values(message_id=sent["message_id"], shown_version=version,
                               claimed_until=None, updated_at=utcnow()))
    db.session.commit()


# -- bringing Telegram up to date ---------------------------------------------------------

def sync(api: BotAPI, msg_id: int, rounds: int = 3) -> bool:
    """Edit the message until Telegram shows its latest version; False when it
    cannot be edited any more (then it is marked gone and left alone).

    Raises TelegramTransient (429, 5xx: ``edit_next_at`` is set) and
    TelegramPermanent (the version is given up, the error kept)."""
    for _ in range(rounds):
        msg = db.session.get(TelegramMessage, msg_id, populate_existing=True)
        if msg is None or msg.state == GONE or msg.message_id is None or msg.shown_version >= msg.version:
            return msg is not None and msg.state != GONE  # nothing to edit: no claim (a write) needed
        now = utcnow()
        lease = now + LEASE
        claimed = db.session.execute(
            update(TelegramMessage)
            .where(TelegramMessage.id == msg_id, TelegramMessage.message_id.is_not(None),
                   TelegramMessage.state != GONE, TelegramMessage.shown_version < TelegramMessage.version,
                   or_(TelegramMessage.edit_locked_until.is_(None), TelegramMessage.edit_locked_until < now))
            .values(edit_locked_until=lease)
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        msg = db.session.get(TelegramMessage, msg_id, populate_existing=True)
        if claimed != 1:
            # Up to date, gone, or another worker is editing (it edits until up to date).
            return msg is not None and msg.state != GONE
        version = msg.version
        text, markup = render(msg)
        try:
            edited = api.edit_message_text(msg.chat_id, msg.message_id, text, markup)
        except TelegramTransient as exc:
            attempts = msg.edit_attempts + 1
            wait = retry_policy.delay(attempts, exc.retry_after, base=_edit_retry_base())
            _release(msg_id, lease, edit_attempts=attempts, edit_error=str(exc)[:500],
                     edit_next_at=utcnow() + timedelta(seconds=wait))
            exc.retry_after = wait
            raise
        except TelegramPermanent as exc:
            log.warning("Telegram message %s: edit refused, given up: %s", msg_id, exc)
            _release(msg_id, lease, shown_version=version, edit_error=str(exc)[:500], edit_next_at=None)
            raise
        if not edited:
            log.info("Telegram message %s can no longer be edited; left as it is", msg_id)
            _release(msg_id, lease, state=GONE, open_key=None, shown_version=version, edit_next_at=None)
            return False
        _release(msg_id, lease, shown_version=version, edit_attempts=0, edit_error=None, edit_next_at=None)
    return True


def _edit_retry_base() -> float:
    """EDIT_RETRY_BASE, or the sends' base when that is configured lower (tests)."""
    return min(EDIT_RETRY_BASE, float(current_app.config.get("DELIVERY_RETRY_BASE", retry_policy.BASE)))


def _release(msg_id: int, lease: datetime, **values) -> None:
    """Write an edit's outcome while the lease is still ours, and free it."""
    db.session.execute(update(TelegramMessage)
                       .where(TelegramMessage.id == msg_id, TelegramMessage.edit_locked_until == lease)
                       .values(edit_locked_until=None, updated_at=utcnow(), **values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def edit_job_id(msg_id: int) -> str:
    return f"telegram-edit-{msg_id}"


def edit_job(msg_id: int) -> Retry | None:
    """The RQ job: bring one message up to date; ``Retry`` after a 429 / 5xx."""
    from notifier.channels import checks as channel_checks

    api = channel_checks.bot()
    if api is None:  # the token was removed: the sweep looks again later
        db.session.execute(update(TelegramMessage).where(TelegramMessage.id == msg_id)
                           .values(edit_next_at=utcnow() + timedelta(minutes=10)))
        db.session.commit()
        return None
    try:
        sync(api, msg_id)
    except TelegramTransient as exc:
        msg = db.session.get(TelegramMessage, msg_id, populate_existing=True)
        if msg is not None and msg.edit_attempts >= EDIT_GIVE_UP:
            log.warning("Telegram message %s: edit given up after %s tries", msg_id, msg.edit_attempts)
            db.session.execute(update(TelegramMessage).where(TelegramMessage.id == msg_id)
                               .values(shown_version=msg.version, edit_next_at=None))
            db.session.commit()
            return None
        return Retry(max=10**6, interval=int(exc.retry_after or 1))
    except TelegramPermanent:
        return None
    return None


def enqueue_edits(msg_ids: list[int]) -> None:
    """Queue an edit job per message that has none waiting; never raises
    (the sweep queues what Redis missed)."""
    ids = sorted({int(i) for i in msg_ids})
    if not ids:
        return
    try:
        _enqueue(get_queue(), ids)
    except Exception as exc:
        log.warning("could not queue Telegram edits %s (%s); the sweep will retry", ids, exc)


def _enqueue(queue: Queue, ids: list[int]) -> int:
    conn = queue.connection
    jobs = Job.fetch_many([edit_job_id(i) for i in ids], connection=conn)
    todo = []
    for i, job in zip(ids, jobs):
        if job is not None and job.get_status(refresh=False) in _ALIVE_JOB:
            continue
        if job is not None:
            discard_job(job)
        todo.append(i)
    if todo:
        queue.enqueue_many([Queue.prepare_data(edit_job, (i,), job_id=edit_job_id(i), timeout=EDIT_JOB_TIMEOUT,
                                               result_ttl=0, failure_ttl=24 * 3600,
                                               description=f"telegram edit {i}") for i in todo])
    return len(todo)


def requeue_stale(now: datetime | None = None) -> int:
    """For the outbox sweep: catch up on missed callbacks, then queue edits
    that are due but whose job was lost."""
    now = now or utcnow()
    reconcile()
    ids = list(db.session.scalars(
        select(TelegramMessage.id).where(
            TelegramMessage.shown_version < TelegramMessage.version,
            TelegramMessage.message_id.is_not(None), TelegramMessage.state != GONE,
            or_(TelegramMessage.edit_locked_until.is_(None), TelegramMessage.edit_locked_until < now),
            or_(and_(TelegramMessage.edit_next_at.is_(None), TelegramMessage.updated_at < now - STALE_EDIT),
                TelegramMessage.edit_next_at <= now))
        .order_by(TelegramMessage.id).limit(SWEEP_BATCH)))
    return _enqueue(get_queue(), ids) if ids else 0


# -- state changes from outside: the button, the callback -----------------------------------

@dataclass(frozen=True)
class Press:
    """A «Перезвоню» press handled: the answer for the button, and the message to edit."""

    query_id: str | None
    answer: str
    edit: int | None = None


def press(query: object) -> Press:
    """Apply one CallbackQuery to the session (caller commits with the update offset).

    Only a button of a message this bot keeps, pressed in the chat it was sent
    to, by a chat linked to an employee, counts; anything else (forged or old
    data) is answered and changes nothing.
    """
    if not isinstance(query, dict):
        return Press(None, "")
    query_id = query.get("id") if isinstance(query.get("id"), str) else None
    sender = query.get("from") if isinstance(query.get("from"), dict) else {}
    message = query.get("message") if isinstance(query.get("message"), dict) else {}
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    data = query.get("data")
    m = _DATA.fullmatch(data) if isinstance(data, str) else None
    msg = db.session.get(TelegramMessage, int(m.group(1))) if m and valid_id(int(m.group(1))) else None
    if (msg is None or msg.message_id is None or msg.state == GONE or chat.get("id") != msg.chat_id
            or message.get("message_id") != msg.message_id):
        return Press(query_id, "Эта кнопка больше не действует.")
    presser = sender.get("id")
    employees = link.subscribers_of_chat(presser) if isinstance(presser, int) and presser == msg.chat_id else []
    if not employees:
        return Press(query_id, "Этот чат не подключён к уведомлениям АТС.")
    if msg.state == CALLED_BACK:
        return Press(query_id, "Клиенту уже перезвонили.", msg.id)
    if msg.state != OPEN:
        return Press(query_id, "Звонок уже закрыт.", msg.id)
    if msg.taken_by:
        return Press(query_id, f"Уже отмечено: перезвонит {msg.taken_by}.", msg.id)
    who = next((s for s in employees if s.id == msg.subscriber_id), employees[0])
    name = (who.name or who.number)[:200]
    now = utcnow()
    db.session.execute(update(TelegramMessage)
                       .where(TelegramMessage.id == msg.id, TelegramMessage.taken_by.is_(None))
                       .values(taken_by=name, taken_at=now, version=TelegramMessage.version + 1,
                               updated_at=now)
                       .execution_options(synchronize_session=False))
    _take_missed_calls(msg.id, who.id, now)
    return Press(query_id, "Отмечено: вы перезвоните клиенту.", msg.id)


def _take_missed_calls(msg_id: int, subscriber_id: int, at: datetime) -> None:
    """Record the press on the open missed calls the message tells of."""
    events = select(TelegramMessageEvent.event_id).where(TelegramMessageEvent.telegram_message_id == msg_id)
    db.session.execute(update(MissedCall)
                       .where(MissedCall.event_id.in_(events), MissedCall.status == cb.OPEN,
                              MissedCall.taken_by_subscriber_id.is_(None))
                       .values(taken_by_subscriber_id=subscriber_id, taken_at=at)
                       .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Resolved:
    """How a missed call ended, as its message says it."""

    state: str                  # CALLED_BACK | CLOSED
    by: str | None              # the employee who called back (name, else number)
    at: datetime | None

    def after_from(self, first_missed_at: datetime) -> int | None:
        if self.state != CALLED_BACK or self.at is None:
            return None
        return max(0, int((self.at - first_missed_at).total_seconds()))


def _resolution(row: MissedCall) -> Resolved | None:
    if row.status == cb.CALLED_BACK:
        who = db.session.get(Subscriber, row.resolved_by_subscriber_id) if row.resolved_by_subscriber_id else None
        by = (who.name or who.number) if who else (
            phones.display(row.resolved_by_number) if row.resolved_by_number else None)
        return Resolved(CALLED_BACK, by, row.resolved_at)
    if row.status == cb.CLOSED:
        return Resolved(CLOSED, None, row.resolved_at)
    return None


def _resolved(event_pk: int) -> Resolved | None:
    row = db.session.scalar(select(MissedCall).where(MissedCall.event_id == event_pk)
                            .execution_options(populate_existing=True))
    return _resolution(row) if row is not None else None


def apply_missed_calls(missed_ids: list[int]) -> list[int]:
    """Messages telling of the missed calls ``missed_ids``, now called back or
    closed, say so and take no more calls (not committed). Returns the ids of
    the messages to edit."""
    changed = []
    rows = db.session.scalars(select(MissedCall).where(MissedCall.id.in_(missed_ids),
                                                       MissedCall.status != cb.OPEN)).all()
    for row in rows:
        resolved = _resolution(row)
        messages = db.session.scalars(
            select(TelegramMessage).where(
                TelegramMessage.id.in_(select(TelegramMessageEvent.telegram_message_id)
                                       .where(TelegramMessageEvent.event_id == row.event_id)),
                TelegramMessage.state == OPEN)).all()
        for msg in messages:
            done = db.session.execute(
                update(TelegramMessage).where(TelegramMessage.id == msg.id, TelegramMessage.state == OPEN)
                .values(state=resolved.state, open_key=None, resolved_by=(resolved.by or "")[:200] or None,
                        resolved_at=resolved.at, resolved_after=resolved.after_from(msg.first_missed_at),
                        version=TelegramMessage.version + 1, updated_at=utcnow())
                .execution_options(synchronize_session=False)).rowcount
            if done:
                changed.append(msg.id)
    return changed


@missed_calls.on_change
def missed_calls_changed(missed_ids: list[int]) -> None:
    """services.missed_calls' listener: edit the employees' messages after a
    callback or a close by hand (the sweep's ``reconcile`` covers a lost call)."""
    changed = apply_missed_calls(missed_ids)
    db.session.commit()
    enqueue_edits(changed)


def reconcile(limit: int = SWEEP_BATCH) -> int:
    """For the sweep: open messages whose missed calls were resolved while the
    listener did not run (a crash right after the commit) catch up."""
    ids = list(db.session.scalars(
        select(MissedCall.id).join(TelegramMessageEvent, TelegramMessageEvent.event_id == MissedCall.event_id)
        .join(TelegramMessage, TelegramMessage.id == TelegramMessageEvent.telegram_message_id)
        .where(TelegramMessage.state == OPEN, MissedCall.status != cb.OPEN)
        .limit(limit)))
    if not ids:
        return 0
    changed = apply_missed_calls(ids)
    db.session.commit()
    enqueue_edits(changed)
    return len(changed)


def messages_of(event_ids: list[int]) -> dict[tuple[int, int], tuple[str, int | None]]:
    """For the «Журнал», in one query: (event pk, employee id) -> ("sent" | "update",
    Telegram's message_id) of the message that tells of that missed call."""
    if not event_ids:
        return {}
    rows = db.session.execute(
        select(TelegramMessageEvent.event_id, TelegramMessageEvent.subscriber_id, TelegramMessageEvent.kind,
               TelegramMessage.message_id)
        .join(TelegramMessage, TelegramMessage.id == TelegramMessageEvent.telegram_message_id)
        .where(TelegramMessageEvent.event_id.in_(event_ids))).all()
    return {(e, s): (kind, message_id) for e, s, kind, message_id in rows}
