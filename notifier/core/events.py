"""Strict validation of a PBX webhook body (contract: events.md "Body").

Strict, because a 422 tells the PBX operator at once that a field is wrong,
while a lenient parse would silently drop notifications later. Decisions:

- ``null`` for an optional field means absent; unknown fields are ignored, and
  so are fields of the other event type (``result`` on a voicemail).
- ``routing`` is required for external ``call.ended``; when sent for an
  internal or outgoing call it must still be ``direct`` or ``group``.
- ``outgoing``: ``from`` is the employee, ``to`` the outside number called
  (never hidden, like any ``to``); such an event notifies nobody.
- ``ended_at`` earlier than ``started_at`` is an error.
- ``line`` is informational, kept as sent (a string of at most 64 characters),
  so a PBX's odd notation for it never costs a notification.
- Integers must be JSON integers (not booleans, not 25.0), 0..2**31-1.
- ``from`` and ``to`` lose invisible format characters (``core.text``) before
  anything else: a number copied with a zero-width space still counts, and a
  hidden caller's text («anonymous» plus a bidi override) can pose as nothing
  in the log or a notification. Other text fields must be printable, which
  refuses those characters outright (``id`` is the idempotency key: no
  silent changes there).
- Times must be plausible (``plausible_time``): from 2000-01-01 UTC to one
  day after the receiving clock. A call cannot be older than the PBXes
  that report it nor in the future, and a date the database, the pages and
  time-zone arithmetic cannot hold (year 9999, offsets of almost a day at
  year 1) would otherwise be stored and break the «Журнал» for good.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from notifier.core import phones
from notifier.core.fielderrors import FieldErrors
from notifier.core.text import strip_format

CALL_ENDED = "call.ended"
VOICEMAIL_RECEIVED = "voicemail.received"
EVENT_TYPES = (CALL_ENDED, VOICEMAIL_RECEIVED)
DIRECTIONS = ("internal", "external", "outgoing")
ROUTINGS = ("direct", "group")
RESULTS = ("answered", "no_answer", "caller_hangup", "busy", "rejected",
           "unavailable", "answered_elsewhere", "failed")

MAX_ID = 128
MAX_NUMBER = 64
MAX_URL = 2048
MAX_INT = 2**31 - 1

# Why 2000: no PBX that speaks this webhook is older, so an earlier date is a
# clock that was never set (1970, 1900, year 1) or a typo, not a call.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
# Why a day ahead: room for a PBX clock that is off, or that writes local time
# with the wrong offset (at most 14 h apart), without taking a typo in the year.
FUTURE_SLACK = timedelta(days=1)
TIME_RANGE_ERROR = "must be between 2000-01-01T00:00:00Z and one day after now"

_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


@dataclass(frozen=True)
class CallEvent:
    """A validated event; ``caller``/``callee`` are canonical (phones.normalize)."""

    id: str
    type: str
    started_at: datetime
    caller_raw: str
    caller: str | None
    callee_raw: str
    callee: str
    call_id: str | None = None
    ended_at: datetime | None = None
    direction: str | None = None
    line: str | None = None
    routing: str | None = None
    result: str | None = None
    ring_seconds: int | None = None
    duration_seconds: int | None = None
    recording_url: str | None = None

    @property
    def is_hidden_caller(self) -> bool:
        return self.caller is None

    @property
    def is_voicemail(self) -> bool:
        return self.type == VOICEMAIL_RECEIVED


def parse_rfc3339(raw: Any) -> datetime | None:
    """An aware datetime from RFC 3339 text with an explicit offset, else None."""
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    m = _RFC3339.match(raw)
    if not m:
        return None
    day, clock, fraction, offset = m.groups()
    text = f"{day}T{clock}"
    if fraction:
        text += "." + fraction[:6].ljust(6, "0")
    text += "+00:00" if offset in "Zz" else offset
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # 2026-02-30, 25:00, offset +24:00 ...
        return None


def plausible_time(moment: datetime, now: datetime | None) -> bool:
    """Whether ``moment`` (aware) lies between EARLIEST and ``now`` + FUTURE_SLACK.

    ``now`` None checks the lower bound only: a body accepted earlier and read
    again (processing) stays valid as the clock moves on. Never raises, even
    where converting to UTC leaves datetime's range (0001-01-01T00:00+23:59).
    """
    try:
        utc = moment.astimezone(timezone.utc)
    except OverflowError:
        return False
    return utc >= EARLIEST and (now is None or utc <= now + FUTURE_SLACK)


class _Reader:
    """Collects every field error so one 422 lists them all."""

    def __init__(self, body: dict, now: datetime | None = None):
        self.body = body
        self.now = now
        self.errors: dict[str, str] = {}

    def get(self, key: str, required: bool) -> Any:
        value = self.body.get(key)
        if value is None and required:
            self.errors[key] = "required"
        return value

    def text(self, key: str, required: bool = False, max_len: int = MAX_ID) -> str | None:
        value = self.get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.errors[key] = "must be a string"
        elif not 1 <= len(value) <= max_len or not value.isprintable() or not value.strip():
            self.errors[key] = f"must be 1 to {max_len} printable characters"
        else:
            return value
        return None

    def choice(self, key: str, options: tuple[str, ...], required: bool) -> str | None:
        value = self.get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or value not in options:
            self.errors[key] = "must be one of: " + ", ".join(options)
            return None
        return value

    def time(self, key: str, required: bool) -> datetime | None:
        value = self.get(key, required)
        if value is None:
            return None
        parsed = parse_rfc3339(value)
        if parsed is None:
            self.errors[key] = "must be an RFC 3339 time with offset, e.g. 2026-11-25T10:15:03+03:00"
        elif not plausible_time(parsed, self.now):
            self.errors[key] = TIME_RANGE_ERROR
            return None
        return parsed

    def count(self, key: str) -> int | None:
        value = self.get(key, False)
        if value is None:
            return None
        if type(value) is not int or not 0 <= value <= MAX_INT:
            self.errors[key] = "must be a non-negative integer"
            return None
        return value

    def number(self, key: str, allow_hidden: bool) -> tuple[str, str | None]:
        """(raw, canonical); canonical None means a hidden caller."""
        value = self.body.get(key)
        if value is None:
            self.errors[key] = "required"
            return "", None
        if not isinstance(value, str):
            self.errors[key] = "must be a string"
            return "", None
        value = strip_format(value)
        if len(value) > MAX_NUMBER:
            self.errors[key] = "not a phone number or extension"
            return "", None
        try:
            canonical = phones.normalize(value)
        except Exception:  # phones.InvalidNumber, or whatever odd text trips over
            self.errors[key] = "not a phone number or extension"
            return value, None
        if canonical is None and not allow_hidden:
            self.errors[key] = "must not be hidden"
        return value, canonical

    def url(self, key: str) -> str | None:
        value = self.get(key, False)
        if value is None:
            return None
        if not isinstance(value, str) or not _is_http_url(value):
            self.errors[key] = "must be an http(s) URL"
            return None
        return value


def _is_http_url(value: str) -> bool:
    if len(value) > MAX_URL or not value.isprintable() or " " in value:
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def parse_event(body: object, now: datetime | None = None) -> CallEvent:
    """Validate a decoded webhook body; raises FieldErrors listing every bad field.

    ``now`` is the receiving clock, for the future bound of the times (see
    ``plausible_time``; None when reading again a body accepted before).
    """
    if not isinstance(body, dict):
        raise FieldErrors({"body": "must be a JSON object"})
    r = _Reader(body, now)
    event_id = r.text("id", required=True)
    event_type = r.choice("type", EVENT_TYPES, required=True)
    call_id = r.text("call_id")
    started_at = r.time("started_at", required=True)
    caller_raw, caller = r.number("from", allow_hidden=True)
    callee_raw, callee = r.number("to", allow_hidden=False)

    fields: dict[str, Any] = {}
    if event_type == CALL_ENDED:
        ended_at = r.time("ended_at", required=False)
        if started_at and ended_at and ended_at < started_at:
            r.errors["ended_at"] = "must not be earlier than started_at"
        direction = r.choice("direction", DIRECTIONS, required=True)
        routing = r.choice("routing", ROUTINGS, required=direction == "external")
        fields = dict(
            ended_at=ended_at,
            direction=direction,
            line=r.text("line", max_len=MAX_NUMBER),
            routing=routing,
            result=r.choice("result", RESULTS, required=True),
            ring_seconds=r.count("ring_seconds"),
        )
    elif event_type == VOICEMAIL_RECEIVED:
        fields = dict(
            duration_seconds=r.count("duration_seconds"),
            recording_url=r.url("recording_url"),
        )

    if r.errors:
        raise FieldErrors(r.errors)
    return CallEvent(
        id=event_id, type=event_type, started_at=started_at, call_id=call_id,
        caller_raw=caller_raw, caller=caller, callee_raw=callee_raw, callee=callee,
        **fields,
    )
