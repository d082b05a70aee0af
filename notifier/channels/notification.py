"""What a notification says, as a plain view-model built from a stored Event.

One place decides the content (caller with the notebook's client name and VIP
mark, employee, local time, multi-channel number, call-back link, voicemail
duration); the channels only lay it out (email templates, Telegram HTML).
Every string that came from outside (the PBX payload, the notebook, the
employee card) is cleaned of control characters here, so a name can never
break an email header, and of invisible format characters (bidi overrides,
zero-width spaces), so none can pose as another, even one stored before names
were cleaned on input; escaping for HTML is the layout's job.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from notifier.core import localtime, phones
from notifier.core.events import VOICEMAIL_RECEIVED
from notifier.core.text import strip_format
from notifier.extensions import db
from notifier.models import ContactNumber, Event, Subscriber
from notifier.services import settings

MISSED_CALL, VOICEMAIL = "missed_call", "voicemail"
TITLES = {MISSED_CALL: "Пропущенный звонок", VOICEMAIL: "Голосовое сообщение"}
HIDDEN_CALLER = "Скрытый номер"

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def clean(value: object, limit: int = 200) -> str:
    """One line of visible text: control characters (CR/LF above all) become a
    space, format characters (core.text) go."""
    text = _CONTROL.sub(" ", strip_format(str(value or ""))).strip()
    return text[:limit]


@dataclass(frozen=True)
class Notification:
    kind: str                   # MISSED_CALL | VOICEMAIL
    caller_number: str          # formatted (+7 902 385-52-70, 101) or HIDDEN_CALLER
    caller_name: str | None     # client name from the notebook
    caller_vip: bool
    tel_uri: str | None         # tel:+79023855270; None for a hidden caller
    employee_name: str
    employee_number: str
    when: datetime              # in the company time zone
    timezone: str
    line: str | None            # the multi-channel number the caller dialled
    duration_seconds: int | None
    recording_url: str | None
    caller_key: str | None = None   # canonical number (core.phones); None when hidden
    event_pk: int | None = None     # the stored Event's id (a Telegram message follows its call)

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def is_voicemail(self) -> bool:
        return self.kind == VOICEMAIL

    @property
    def caller(self) -> str:
        """«+7 902 385-52-70, ООО Ромашка, VIP»."""
        parts = [self.caller_number]
        if self.caller_name:
            parts.append(self.caller_name)
        if self.caller_vip:
            parts.append("VIP")
        return ", ".join(parts)

    @property
    def employee(self) -> str:
        if self.employee_name and self.employee_name != self.employee_number:
            return f"{self.employee_name} ({self.employee_number})"
        return self.employee_number

    @property
    def when_text(self) -> str:
        return self.when.strftime("%d.%m.%Y %H:%M")

    @property
    def duration_text(self) -> str | None:
        if self.duration_seconds is None:
            return None
        minutes, seconds = divmod(self.duration_seconds, 60)
        return f"{minutes} мин {seconds:02d} с" if minutes else f"{seconds} с"

    @property
    def subject(self) -> str:
        """The email subject; already one line (no header injection possible)."""
        if self.caller_number == HIDDEN_CALLER:
            return f"{self.title} со скрытого номера"
        return clean(f"{self.title} от {self.caller}", 250)


def build(event: Event, subscriber: Subscriber | None, subscriber_number: str = "") -> Notification:
    """The view-model for ``event`` addressed to ``subscriber``."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    caller_key = event.caller_key
    name, vip = _notebook(caller_key)
    when, tz = localtime.in_zone(event.started_at, settings.schedule().timezone)
    duration = payload.get("duration_seconds")
    recording_url = payload.get("recording_url")
    return Notification(
        kind=VOICEMAIL if event.type == VOICEMAIL_RECEIVED else MISSED_CALL,
        caller_number=clean(phones.display(caller_key), 64) if caller_key else HIDDEN_CALLER,
        caller_name=clean(name) or None,
        caller_vip=vip,
        tel_uri=phones.tel_uri(caller_key) if caller_key else None,
        employee_name=clean(subscriber.name if subscriber else ""),
        employee_number=clean(subscriber.number if subscriber else subscriber_number, 64),
        when=when,
        timezone=tz,
        line=_line(payload.get("line")),
        duration_seconds=duration if type(duration) is int and duration >= 0 else None,
        recording_url=recording_url if isinstance(recording_url, str) and recording_url else None,
        caller_key=caller_key or None,
        event_pk=event.id,
    )


def _notebook(caller_key: str | None) -> tuple[str | None, bool]:
    """Client name and VIP mark of the caller's number in the notebook."""
    if not caller_key:
        return None, False
    number = db.session.scalar(select(ContactNumber).where(ContactNumber.number_key == caller_key))
    if number is None:
        return None, False
    return number.contact.name, bool(number.contact.vip)


def _line(raw: object) -> str | None:
    """The multi-channel number, formatted when it is a number, else as the PBX sent it."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        key = phones.normalize(raw)
    except phones.InvalidNumber:
        key = None
    return clean(phones.display(key) if key else raw, 64)
