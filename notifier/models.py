"""The data model of the whole product (SQLAlchemy 2.0, typed).

Numbers are stored twice: as the admin typed them (for display) and as a
canonical key (``*_key``, see notifier.core.phones) for matching and uniqueness.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from notifier import stored_secrets
from notifier.extensions import db

# Every primary key is an Integer column: PostgreSQL's 4-byte integer (SQLite's
# 8-byte one is wider). A larger id exists nowhere, and asking the database for
# one is an error there ("integer out of range", or OverflowError in the SQLite
# driver), so ids from outside are checked against this before any query.
MAX_ID = 2**31 - 1


def valid_id(value: Any) -> bool:
    """An id that may exist: an int (not a bool) in 1..MAX_ID."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_session_nonce() -> str:
    return secrets.token_urlsafe(24)


class UTCDateTime(db.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime")
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class User(TimestampMixin, db.Model):
    """An admin of the web UI."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Copied into the session cookie at login and compared on every request;
    # a new value (logout, password change) ends every session issued before.
    session_nonce: Mapped[str] = mapped_column(String(64), default=lambda: new_session_nonce())


class ApiToken(db.Model):
    """A bearer token for the JSON API created in the UI; only its hash is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Setting(db.Model):
    """Values an admin saves in the UI (SMTP, Telegram, poller offset...).

    Environment variables win over these; see notifier.services.settings.
    """

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    # As kept in the database: credentials encrypted (notifier.stored_secrets).
    # Read and assign ``value``; ``stored`` is for code that moves rows as they are.
    stored: Mapped[Any] = mapped_column("value", JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __init__(self, key: str, value: Any = None):
        super().__init__(key=key)
        self.value = value

    @property
    def value(self) -> Any:
        return stored_secrets.reveal(self.key, self.stored)

    @value.setter
    def value(self, value: Any) -> None:
        self.stored = stored_secrets.conceal(self.key, value)


class Subscriber(TimestampMixin, db.Model):
    """A PBX employee: an extension or phone number that can receive notifications."""

    __tablename__ = "subscribers"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    number_key: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    telegram: Mapped[str | None] = mapped_column(String(64))  # @username as the admin typed it
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    telegram_linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    telegram_unlinked_reason: Mapped[str | None] = mapped_column(String(200))
    telegram_link_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    telegram_link_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    rules: Mapped[list[Rule]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def telegram_linked(self) -> bool:
        return self.telegram_chat_id is not None


class Contact(TimestampMixin, db.Model):
    """A client in the notebook; its numbers feed the VIP criterion and caller names."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    vip: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    numbers: Mapped[list[ContactNumber]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ContactNumber.position",
    )


class ContactNumber(db.Model):
    __tablename__ = "contact_numbers"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    number_key: Mapped[str] = mapped_column(String(32), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    contact: Mapped[Contact] = relationship(back_populates="numbers")


class Rule(TimestampMixin, db.Model):
    """One notification rule of one subscriber.

    ``criteria`` holds the rule body's types/time/callers in the API's JSON
    shape (see notifier.core.criteria), listed numbers in canonical form.
    """

    __tablename__ = "rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    criteria: Mapped[dict] = mapped_column(JSON)
    subscriber: Mapped[Subscriber] = relationship(back_populates="rules")


class Event(db.Model):
    """A call event received from the PBX, stored before it is acknowledged.

    ``queued_at`` is the outbox mark: NULL until the event has been handed to
    Redis; a periodic sweep queues what is still NULL. ``processed_at`` is set
    once decisions and deliveries exist.
    """

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    call_id: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    caller: Mapped[str] = mapped_column(String(64), default="")
    caller_key: Mapped[str | None] = mapped_column(String(32))
    callee_key: Mapped[str] = mapped_column(String(32), index=True)
    result: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which PBX adapter translated the event (notifier.pbx, e.g. "3cx"); None for
    # the JSON webhook. ``raw`` is that vendor's request as received (method,
    # path, query, form or body, a few headers; never credentials), shown in
    # «Журнал» beside the translated event.
    source: Mapped[str | None] = mapped_column(String(16))
    raw: Mapped[dict | None] = mapped_column(JSON)

    decisions: Mapped[list[Decision]] = relationship(
        back_populates="event", cascade="all, delete-orphan", passive_deletes=True
    )
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="event", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Delivery.id",
    )

    __table_args__ = (
        Index("ix_events_unprocessed", "processed_at", "queued_at"),
        # Answered calls from a number, for a missed call processed after its callback
        # (services.missed_calls); partial, so the other events pay nothing for it.
        Index("ix_events_answered_caller", "caller_key", "started_at",
              postgresql_where=text("result = 'answered'"), sqlite_where=text("result = 'answered'")),
    )


class Decision(db.Model):
    """Whether one subscriber considered for an event is notified, and why (not)."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), index=True
    )
    subscriber_number: Mapped[str] = mapped_column(String(64))
    notify: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event: Mapped[Event] = relationship(back_populates="decisions")

    __table_args__ = (UniqueConstraint("event_id", "subscriber_number", name="uq_decisions_event_subscriber"),)


DELIVERY_STATUSES = ("pending", "sent", "retrying", "failed", "skipped")


class Delivery(db.Model):
    """One notification of one event to one subscriber on one channel.

    Unique per (event, subscriber, channel): the database, not Redis, is what
    guarantees "once". ``locked_until`` is a lease a worker takes while sending.
    """

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), index=True
    )
    subscriber_number: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    event: Mapped[Event] = relationship(back_populates="deliveries")

    __table_args__ = (
        UniqueConstraint("event_id", "subscriber_number", "channel", name="uq_deliveries_event_subscriber_channel"),
    )


class MorningDigest(db.Model):
    """One employee's morning digest of one working day (notifier.core.digest).

    The row is the claim: inserted (unique per employee and day) before anything
    is sent, with its sends, in one transaction, so two workers or a restarted
    one never send a day's digest twice. ``missed_call_ids`` fixes what it lists
    (newest first, at most MAX_LISTED), ``total`` how many there were.
    """

    __tablename__ = "morning_digests"
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    missed_call_ids: Mapped[list] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sends: Mapped[list[DigestSend]] = relationship(
        back_populates="digest", cascade="all, delete-orphan", passive_deletes=True, order_by="DigestSend.id")

    __table_args__ = (UniqueConstraint("subscriber_id", "day", name="uq_morning_digests_subscriber_day"),)


class DigestSend(db.Model):
    """A morning digest on one channel: sent once, with a lease and retries like a Delivery
    (notifier.pipeline.digest)."""

    __tablename__ = "digest_sends"
    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("morning_digests.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    digest: Mapped[MorningDigest] = relationship(back_populates="sends")

    __table_args__ = (UniqueConstraint("digest_id", "channel", name="uq_digest_sends_digest_channel"),)


class PbxRequest(db.Model):
    """Requests from one PBX adapter that ended one way (accepted, bad signature...):
    how many, and the last one's time and detail, for the settings page.

    One row per (vendor, outcome), bumped by a single UPDATE per request
    (notifier.pbx.status), so concurrent requests never lose a count.
    """

    __tablename__ = "pbx_requests"
    vendor: Mapped[str] = mapped_column(String(16), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_detail: Mapped[str] = mapped_column(String(200), default="")


class PbxCallMark(db.Model):
    """A note about a call that its PBX reports over several requests (Zadarma:
    ``NOTIFY_INTERNAL`` says which extension rings, ``NOTIFY_END`` says how the
    call ended), kept until the call's end is translated (notifier.services.pbx_calls).

    One row per mark, so two requests of one call arriving at once both land
    (an insert each, a duplicate is ignored); in the database rather than Redis
    because the PBX's 2xx for a ``NOTIFY_INTERNAL`` promises what it said
    survives a Redis outage or a restart, as an event does. Rows older than a
    couple of days are pruned.
    """

    __tablename__ = "pbx_call_marks"
    vendor: Mapped[str] = mapped_column(String(16), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    mark: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class MangoNotification(db.Model):
    """One ``events/call`` or ``events/summary`` notification of a Mango Office call,
    kept until the call's events can be made (notifier.services.mango_calls).

    Mango sends a call as one request per leg state plus a summary, in parallel
    and possibly out of order; each is one row, unique per (call, leg, seq), so
    a redelivery adds nothing and no row is ever updated (no lost update between
    concurrent requests). ``call_id`` is "" and ``seq`` 0 for the summary.
    ``data`` holds the notification's checked fields (notifier.pbx.mango.Note).
    Rows older than a few days are deleted.
    """

    __tablename__ = "mango_notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(128))
    call_id: Mapped[str] = mapped_column(String(128))
    seq: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("entry_id", "call_id", "seq", name="uq_mango_notifications_entry_call_seq"),)


MISSED_CALL_STATUSES = ("open", "called_back", "closed")


class MissedCall(db.Model):
    """The callback state of one missed call (issue 16; notifier.core.callbacks).

    One row per missed-call event (``event_id`` unique), written in the same
    transaction as the event's decision, whether or not anyone was notified.
    ``caller_key`` is None for a hidden caller: nothing ever calls that back.
    ``resolved_*`` say who called back (an employee), when and how
    ("outgoing" | "incoming" | "manual": then ``resolved_by_user_email``);
    ``taken_*`` record who pressed «Перезвоню» in Telegram.
    """

    __tablename__ = "missed_calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"))
    subscriber_number: Mapped[str] = mapped_column(String(32))
    caller: Mapped[str] = mapped_column(String(64), default="")
    caller_key: Mapped[str | None] = mapped_column(String(32))
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    missed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_number: Mapped[str | None] = mapped_column(String(32))
    resolved_by_subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL")
    )
    resolved_by_user_email: Mapped[str | None] = mapped_column(String(254))
    resolved_how: Mapped[str | None] = mapped_column(String(16))
    resolved_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    taken_by_subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL")
    )
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(foreign_keys=[event_id])
    resolved_event: Mapped[Event | None] = relationship(foreign_keys=[resolved_event_id])
    subscriber: Mapped[Subscriber | None] = relationship(foreign_keys=[subscriber_id])
    resolved_by_subscriber: Mapped[Subscriber | None] = relationship(foreign_keys=[resolved_by_subscriber_id])
    taken_by_subscriber: Mapped[Subscriber | None] = relationship(foreign_keys=[taken_by_subscriber_id])

    __table_args__ = (
        # "the open calls of this number" (every answered call asks), and the page's filters.
        Index("ix_missed_calls_caller_open", "caller_key", "status", "missed_at"),
        Index("ix_missed_calls_status_missed_at", "status", "missed_at"),
        Index("ix_missed_calls_subscriber_missed_at", "subscriber_id", "missed_at"),
    )


class TelegramMessage(db.Model):
    """One employee's Telegram message about missed calls from one caller, kept
    so it can be edited: repeat calls, «Перезвоню», called back
    (notifier.services.telegram_threads).

    ``open_key`` ("<subscriber id>:<caller key>") is set while repeat calls
    from that caller join this message; its uniqueness is what stops two
    workers from both starting a message for the same caller. ``version``
    counts changes to what the message should say, ``shown_version`` the one
    Telegram shows; an edit is due while they differ. ``message_id`` is NULL
    while the first send is in flight (``claimed_until`` is its lease).
    """

    __tablename__ = "telegram_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    caller_key: Mapped[str | None] = mapped_column(String(32))
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    body: Mapped[str] = mapped_column(Text, default="")  # Telegram HTML below the title, escaped
    missed_count: Mapped[int] = mapped_column(Integer, default=1)
    first_missed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_missed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | called_back | closed | gone
    taken_by: Mapped[str | None] = mapped_column(String(200))  # «Перезвоню» pressed: who
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_after: Mapped[int | None] = mapped_column(Integer)  # seconds from the first missed call
    version: Mapped[int] = mapped_column(Integer, default=1)
    shown_version: Mapped[int] = mapped_column(Integer, default=0)
    edit_attempts: Mapped[int] = mapped_column(Integer, default=0)
    edit_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edit_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edit_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_telegram_messages_edit_due", "shown_version", "version"),)


class TelegramMessageEvent(db.Model):
    """Which missed-call event of which employee a Telegram message tells of:
    ``sent`` for the event that sent it, ``update`` for a repeat call shown by
    editing it. One row per (event, employee), so a retried delivery counts its
    call once."""

    __tablename__ = "telegram_message_events"
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True)
    telegram_message_id: Mapped[int] = mapped_column(
        ForeignKey("telegram_messages.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # sent | update
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
