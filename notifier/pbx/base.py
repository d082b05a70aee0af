"""What every PBX adapter is made of (contract: pbx.md).

An adapter is two pure functions over a :class:`VendorRequest`, the vendor's
HTTP request as plain data (no Flask, no database here, so each vendor's
translation is tested as a table of requests copied from its documentation):

- ``verify(req, creds)``: the vendor's own authentication (a token, an HMAC
  over some fields...) against the credentials the admin configured; raises
  :class:`BadAuth`. Compare secrets with ``hmac.compare_digest``.
- ``translate(req, directory)``: the request's meaning as a list of
  ``events.md`` event dicts (often none: a "ringing" notice is no event),
  raising :class:`BadBody` for a body the vendor would never send. Event ids
  are derived from the vendor's own ids (``"<slug>:<call id>:<extension>"``),
  so a redelivery is a duplicate. ``directory`` answers look-ups a vendor may
  ask the app for (the caller's name for MegaFon's ``contact``, the company
  time zone) and keeps the few marks a vendor that splits one call over
  several requests needs to correlate them (Zadarma: which extensions rang);
  the vendor's pure decision takes those marks in and gives new ones back.

The HTTP plumbing (notifier.api.pbx) does the rest the same way for every
vendor: body size cap, credentials, the outcome counters, intake, the reply.
A vendor is described by a :class:`Vendor` in notifier.pbx.registry.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from notifier.core import strict_json

# --- outcomes of a request (counted per vendor, shown in Settings) -----------------

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
CHECK = "check"
BAD_AUTH = "bad_auth"
BAD_BODY = "bad_body"
NOT_CONFIGURED = "not_configured"
INVALID = "invalid"
ERROR = "error"

# outcome -> (Russian label, badge tone of static/app.css)
OUTCOMES: dict[str, tuple[str, str]] = {
    ACCEPTED: ("принят", "ok"),
    DUPLICATE: ("повтор, уже был принят", "ok"),
    CHECK: ("проверка адреса", "ok"),
    BAD_AUTH: ("неверная подпись или токен", "bad"),
    BAD_BODY: ("неверный запрос", "bad"),
    NOT_CONFIGURED: ("адаптер не настроен", "warn"),
    INVALID: ("ошибка адаптера: неверное событие", "bad"),
    ERROR: ("ошибка адаптера (подробности в журнале сервера)", "bad"),
}


# --- errors a vendor's functions raise -----------------------------------------------

class AdapterError(Exception):
    """A request the adapter refuses; ``message`` is a short Russian reason
    (answered to the PBX and shown in Settings, so never a secret)."""

    status = 400
    outcome = BAD_BODY

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadAuth(AdapterError):
    status = 401
    outcome = BAD_AUTH


class BadBody(AdapterError):
    status = 400
    outcome = BAD_BODY


# --- the request as data ---------------------------------------------------------------

@dataclass(frozen=True)
class VendorRequest:
    """A vendor's HTTP request. Multi-valued parameters keep their first value."""

    method: str = "POST"
    path: str = ""  # after /api/v1/pbx/<vendor>/, e.g. "events/call"; "" for the address itself
    query: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)  # urlencoded or multipart fields
    body: bytes = b""  # as received (at most intake.MAX_BODY bytes)
    content_type: str = ""  # the mimetype, lowercased, without parameters
    headers: Mapping[str, str] = field(default_factory=dict)  # names lowercased

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        """A form field, else a query parameter of that name."""
        value = self.form.get(name)
        return value if value is not None else self.query.get(name)

    def text(self) -> str | None:
        """The body as UTF-8 text, or None when it is not."""
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def json(self) -> Any:
        """The body as JSON (strict, like the webhook), or raises BadBody."""
        text = self.text()
        try:
            if text is None:
                raise ValueError("not UTF-8")
            return strict_json.loads(text)
        except ValueError:
            raise BadBody("тело запроса — не JSON") from None


@dataclass(frozen=True)
class Reply:
    """An answer in the form a vendor expects (plain text echo, its JSON...)."""

    body: str | bytes = ""
    status: int = 200
    content_type: str = "text/plain; charset=utf-8"

    @classmethod
    def json(cls, value: Any, status: int = 200) -> "Reply":
        return cls(json.dumps(value, ensure_ascii=False), status, "application/json")


@dataclass(frozen=True)
class Translation:
    """What a request means: events to take in, and optionally the vendor's own answer
    (else the plumbing answers ``{"events": [{"id", "status"}...]}``)."""

    events: list[dict] = field(default_factory=list)
    reply: Reply | None = None
    note: str = ""  # shown as the detail of the outcome in Settings, e.g. "NOTIFY_START: не событие"


@dataclass(frozen=True)
class DirectoryContact:
    """A client of the notebook, as an adapter may tell the PBX."""

    id: int
    name: str
    vip: bool = False
    url: str = ""  # the client's page in the app (for a PBX that links to it)


class Directory(Protocol):
    """Look-ups an adapter may need from the app's data."""

    def find_contact(self, number: str) -> DirectoryContact | None:
        """The notebook's client with this number (any notation), if any."""

    def contact_name(self, number: str) -> str | None:
        """That client's name, if any."""

    def time_zone(self) -> str:
        """The company's IANA time zone, for a vendor that sends local times
        without an offset (Zadarma's ``call_start``)."""

    def call_marks(self, vendor: str, call_id: str) -> frozenset[str]:
        """What earlier requests of ``vendor`` noted about the call ``call_id``
        (see ``mark_call``); empty when nothing was noted."""

    def mark_call(self, vendor: str, call_id: str, mark: str) -> None:
        """Note ``mark`` (e.g. ``"rang:101"``) for a call a vendor reports over
        several requests, durably (committed before the PBX gets its answer) and
        idempotently: a redelivered request notes nothing new."""


class NoDirectory:
    """A Directory that knows nobody and remembers nothing (tests, adapters that need none)."""

    def find_contact(self, number: str) -> DirectoryContact | None:
        return None

    def contact_name(self, number: str) -> str | None:
        return None

    def time_zone(self) -> str:
        return "UTC"

    def call_marks(self, vendor: str, call_id: str) -> frozenset[str]:
        return frozenset()

    def mark_call(self, vendor: str, call_id: str, mark: str) -> None:
        return None


# --- a vendor's description --------------------------------------------------------------

@dataclass(frozen=True)
class Credential:
    """A setting an adapter needs; ``key`` is both the environment variable
    (which wins) and the key in the saved ``pbx`` setting."""

    key: str
    label: str
    secret: bool = True  # never shown back in full
    required: bool = True  # the adapter is "not configured" until it is set
    default: str | None = None  # e.g. the vendor's API address
    hint: str = ""
    max_length: int = 256
    # A full-match regular expression the UI checks a new value against, and its message.
    pattern: str | None = None
    pattern_message: str = ""


@dataclass(frozen=True)
class VendorFile:
    """A file the admin downloads from Settings and uploads to the PBX (3CX's
    template); ``build(address, credentials)`` makes its text."""

    name: str  # the file name, also its address part
    label: str  # the link's text
    build: Callable[[str, Mapping[str, str]], str]
    media_type: str = "application/octet-stream"


Verify = Callable[[VendorRequest, Mapping[str, str]], None]
Translate = Callable[[VendorRequest, Directory], Translation]
Probe = Callable[[VendorRequest], "Reply | None"]


@dataclass(frozen=True)
class Vendor:
    """One PBX the app connects to; an entry of notifier.pbx.registry.VENDORS."""

    slug: str  # the address part (/api/v1/pbx/<slug>) and Event.source; [a-z0-9]{1,16}
    title: str  # as the vendor names itself, e.g. "Mango Office"
    credentials: tuple[Credential, ...]
    verify: Verify | None = None  # None: not implemented yet (the settings page says so)
    translate: Translate | None = None
    # An answer to an unauthenticated address check (Zadarma's ?zd_echo=), tried first.
    probe: Probe | None = None
    # Form/query fields and headers whose values never reach the stored raw request.
    redact: tuple[str, ...] = ()
    # Headers worth keeping with the raw request (besides Content-Type and User-Agent).
    raw_headers: tuple[str, ...] = ()
    endpoint: bool = True  # False: the app connects to the PBX (Asterisk AMI), no address to give
    connects: bool = False  # endpoint=False only: the worker's connection to the PBX is written
    setup: str = ""  # where in the vendor's cabinet to paste what (Russian, short)
    limits: str = ""  # what this vendor's data cannot tell apart (Russian, short)
    files: tuple[VendorFile, ...] = ()  # offered for download in the vendor's Settings card
    settings_template: str | None = None  # an extra template included in the vendor's Settings card

    @property
    def available(self) -> bool:
        """Whether the adapter exists: an endpoint's functions, or (``endpoint=False``)
        a connection of the worker's, which sets ``connects``."""
        return (self.verify is not None and self.translate is not None) if self.endpoint else self.connects

    def configured(self, creds: Mapping[str, str | None]) -> bool:
        return all(creds.get(c.key) for c in self.credentials if c.required)


# --- helpers for translations -----------------------------------------------------------

def event_id(slug: str, *parts: object) -> str:
    """``"<slug>:<part>:<part>"``: the event's id from the vendor's own ids, so that
    a redelivery is a duplicate. Ids longer than the contract's 128 characters or
    with unprintable characters become ``"<slug>:h:<sha256>"`` of the same text:
    still deterministic, and never two calls in one by cutting."""
    text = ":".join([slug, *(str(p) for p in parts)])
    if len(text) <= 128 and text.isprintable() and text.strip() == text:
        return text
    return f"{slug}:h:{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()}"
