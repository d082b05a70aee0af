"""Zadarma and Novofon (one API): the PBX's call notifications (contract: pbx.md).

Sources, all the vendors' own:
- zadarma/user-api-v1 (official PHP SDK), lib/Webhook/*.php: the fields of each
  ``NOTIFY_*`` and ``getSignatureString()``, the text each one signs;
  lib/Client.php ``encodeSignature``: ``base64_encode(hash_hmac('sha1', text,
  secret))``, and PHP's ``hash_hmac`` returns the *hex* digest, so the header
  is base64 of 40 hex characters; examples/callinfo_callback.php (at 8e1f5a4):
  ``if (isset($_GET['zd_echo'])) exit($_GET['zd_echo']);``, the address check.
- novofon/user-api-v1: the same classes under ``Novofon_API`` (api.novofon.com).
- zadarma/user-api-typescript, src/Webhook.ts: the same signed texts, but
  ``digest('base64')`` of the raw HMAC; both forms are accepted (both need the
  secret).
- zadarma.com/ru/support/api/: ``NOTIFY_START`` may be answered with JSON that
  steers the call (``caller_name`` is SDK Request::setCallerName), and a PBX
  extension is a three-digit number.
- zadarma/openapi, spec/v1/openapi.json: the ``disposition`` values, the
  ``pbx_call_id`` form (``in_ae6b03b3…``), times as ``YYYY-MM-DD HH:MM:SS`` in
  the time zone set in the account (``/v1/info/timezone``).

One incoming call, as Zadarma reports it: ``NOTIFY_START`` (the call enters the
PBX), ``NOTIFY_INTERNAL`` for each extension it rings (field ``internal``),
``NOTIFY_ANSWER`` when someone answers, ``NOTIFY_END`` once the call is over
(``disposition``, and ``internal``, an extension). Only ``NOTIFY_END`` makes
events: one ``call.ended`` per extension that rang, read from the marks the
earlier requests left (:func:`decide` takes the marks in and gives new ones
back; the plumbing keeps them, see notifier.services.pbx_calls). Several
extensions rang -> ``routing: "group"``; one answered -> the others
``answered_elsewhere``; nobody answered -> Zadarma's ``disposition`` for every
leg: ``no answer`` (the ring timed out) is the only missed call, ``cancel``
(the caller hung up) is ``caller_hangup``.

What Zadarma's data cannot tell apart (README and the settings card say so):
- the disposition is the call's, not each ring's: in a hunt group where the
  first extension timed out and the caller gave up on the second, every leg
  gets Zadarma's ``cancel``; a group call notifies nobody anyway;
- without ``NOTIFY_INTERNAL`` enabled, only the extension in ``NOTIFY_END`` is
  known, so a group call looks direct to that extension;
- no notification says a caller left a voicemail: Zadarma mails voicemail
  itself; ``NOTIFY_RECORD`` announces a conversation recording, not a message,
  so it makes no event;
- calls between extensions are not described; a notification whose caller
  (``NOTIFY_END``) or destination (``NOTIFY_OUT_END``) is an extension is taken
  as an internal call.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from notifier.core import phones
from notifier.pbx.base import (
    BadAuth,
    BadBody,
    Credential,
    Directory,
    Reply,
    Translation,
    Vendor,
    VendorRequest,
    event_id,
)

SLUG = "zadarma"
SECRET_KEY = "ZADARMA_API_SECRET"

START, INTERNAL, ANSWER, END = "NOTIFY_START", "NOTIFY_INTERNAL", "NOTIFY_ANSWER", "NOTIFY_END"
OUT_START, OUT_END, RECORD, IVR = "NOTIFY_OUT_START", "NOTIFY_OUT_END", "NOTIFY_RECORD", "NOTIFY_IVR"

# The fields whose values, concatenated, each event signs (the SDK's getSignatureString;
# NotifyIvr extends NotifyStart).
SIGNED: dict[str, tuple[str, ...]] = {
    START: ("caller_id", "called_did", "call_start"),
    INTERNAL: ("caller_id", "called_did", "call_start"),
    ANSWER: ("caller_id", "destination", "call_start"),
    END: ("caller_id", "called_did", "call_start"),
    OUT_START: ("internal", "destination", "call_start"),
    OUT_END: ("internal", "destination", "call_start"),
    RECORD: ("pbx_call_id", "call_id_with_rec"),
    IVR: ("caller_id", "called_did", "call_start"),
}
# Fields without which a request of that event means nothing to the app.
REQUIRED: dict[str, tuple[str, ...]] = {
    START: ("call_start",),
    INTERNAL: ("pbx_call_id", "call_start"),
    ANSWER: ("pbx_call_id", "call_start"),
    END: ("pbx_call_id", "call_start", "disposition"),
    OUT_START: ("call_start",),
    OUT_END: ("pbx_call_id", "call_start", "disposition"),
    RECORD: ("pbx_call_id",),
    IVR: ("call_start",),
}

# NOTIFY_END / NOTIFY_OUT_END ``disposition`` -> result for a ring nobody answered
# (the SDK's NotifyEnd/NotifyOutEnd doc comment; openapi's statistics say "call failed").
RESULTS: dict[str, str] = {
    "no answer": "no_answer",  # the ring timed out: the one missed call
    "cancel": "caller_hangup",  # the caller hung up first (on an outgoing call: the employee)
    "busy": "busy",
    "failed": "failed",
    "call failed": "failed",
    "no money": "failed",
    "unallocated number": "failed",
    "no limit": "failed",
    "no day limit": "failed",
    "line limit": "failed",
    "no money, no limit": "failed",
}
ANSWERED = "answered"

MAX_FIELD = 200
MAX_CALLER_NAME = 64
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})")
RANG, ANSWERED_BY = "rang:", "answered:"


# --------------------------------------------------------------------------- authentication

def signatures(secret: str, text: str) -> tuple[str, str]:
    """The ``Signature`` header for ``text``: base64 of the hex HMAC-SHA1 (PHP and Python
    SDKs, the docs' example), and base64 of the raw HMAC (the TypeScript SDK)."""
    mac = hmac.new(secret.encode("utf-8"), text.encode("utf-8", "surrogatepass"), hashlib.sha1)
    return base64.b64encode(mac.hexdigest().encode()).decode(), base64.b64encode(mac.digest()).decode()


def signed_text(form: Mapping[str, str], event: str) -> str:
    return "".join(form.get(name) or "" for name in SIGNED[event])


def _event(req: VendorRequest) -> str:
    event = req.form.get("event")
    if not event:
        raise BadBody("нет поля event: Zadarma присылает уведомления POST-запросом с полями формы")
    if event not in SIGNED:
        raise BadBody(f"неизвестное событие Zadarma: {event[:40]!r}")
    return event


def verify(req: VendorRequest, creds: Mapping[str, str]) -> None:
    event = _event(req)
    offered = (req.header("signature") or "").strip()
    if not offered:
        raise BadAuth("нет подписи (заголовок Signature): создайте ключи API в кабинете Zadarma")
    secret = creds.get(SECRET_KEY) or ""
    given = offered.encode("utf-8", "surrogatepass")
    if not any(hmac.compare_digest(given, expected.encode())
               for expected in signatures(secret, signed_text(req.form, event))):
        raise BadAuth("неверная подпись Zadarma: проверьте секрет API (Secret)")


# --------------------------------------------------------------------------- fields

def _fields(req: VendorRequest) -> dict[str, str]:
    """The form, checked: the event's required fields present, every value short printable text."""
    if req.method != "POST":
        raise BadBody("уведомления Zadarma приходят POST-запросом")
    event = _event(req)
    form: dict[str, str] = {}
    for name, value in req.form.items():
        if len(value) > MAX_FIELD or not value.isprintable():
            raise BadBody(f"поле {name[:40]}: слишком длинное или с управляющими символами")
        form[name] = value.strip()
    missing = [name for name in REQUIRED[event] if not form.get(name)]
    if missing:
        raise BadBody(f"{event}: нет поля {', '.join(missing)}")
    return form


def parse_call_start(raw: str, zone: str) -> datetime:
    """``call_start``: ``YYYY-MM-DD HH:MM:SS``, local time of the Zadarma account, taken
    to be the company's time zone (the README asks to set the same in both)."""
    m = _TIME.fullmatch(raw)
    if not m:
        raise BadBody("call_start: время не в формате 2026-11-25 10:15:03")
    try:
        naive = datetime(*(int(part) for part in m.groups()))
    except ValueError:
        raise BadBody("call_start: такого времени нет") from None
    try:
        tz = ZoneInfo(zone)
    except Exception:  # an unknown or odd zone name: UTC rather than a lost call
        tz = timezone.utc
    moment = naive.replace(tzinfo=tz)
    if not 2000 <= moment.astimezone(timezone.utc).year <= 2100:
        raise BadBody("call_start: время вне разумных пределов")
    return moment


def phone(raw: str | None) -> tuple[str, str] | None:
    """(text for the event, canonical) of a number as Zadarma writes it, or None when
    hidden or not a number. Zadarma writes international numbers without ``+``
    (openapi: ``442037691880``): digits the Russian reading rejects get a ``+``."""
    text = (raw or "").strip()
    for candidate in (text, "+" + text if text.isdigit() and 7 <= len(text) <= 15 else None):
        if not candidate:
            continue
        try:
            canonical = phones.normalize(candidate)
        except Exception:  # phones.InvalidNumber, or text the library trips over
            continue
        return (candidate, canonical) if canonical else None
    return None


def is_extension(canonical: str) -> bool:
    """A PBX extension: the app's short numbers without a country code, from Zadarma's
    three digits up (a caller ID like ``0`` is no colleague)."""
    return not canonical.startswith("+") and len(canonical) >= 3


def extension(raw: str | None, field: str) -> str | None:
    """An employee's number in ``field`` (canonical), None when empty; BadBody when not a number."""
    if not raw:
        return None
    found = phone(raw)
    if found is None:
        raise BadBody(f"поле {field}: «{raw[:40]}» — не номер")
    return found[1]


def _result(disposition: str) -> str:
    """An unanswered ring's result; a disposition Zadarma adds later counts as failed
    (never a missed call by guess; the raw request in «Журнал» still shows it)."""
    return RESULTS.get(disposition.strip().lower(), "failed")


# --------------------------------------------------------------------------- the decision

@dataclass(frozen=True)
class Decision:
    """What one request means, and the marks to keep for its call (``pbx_call_id``)."""

    translation: Translation
    marks: tuple[str, ...] = ()


def decide(form: Mapping[str, str], marks: frozenset[str], zone: str) -> Decision:
    """One notification (checked by :func:`_fields`), given the marks its call left so far."""
    event = form["event"]
    if event in (START, IVR, OUT_START):
        return Decision(Translation(note=f"{event}: звонок идёт, событие будет по его окончании"))
    if event == RECORD:
        return Decision(Translation(note=f"{RECORD}: запись разговора {form.get('call_id_with_rec', '')[:60]} "
                                         "готова; это не голосовое сообщение, приложение её не скачивает"))
    if event == INTERNAL:
        ext = extension(form.get("internal"), "internal")
        if ext is None:
            return Decision(Translation(note=f"{INTERNAL}: без внутреннего номера"))
        return Decision(Translation(note=f"{INTERNAL}: звонит {ext}"), (RANG + ext,))
    if event == ANSWER:
        ext = extension(form.get("internal"), "internal")
        other = phone(form.get("destination"))
        who = ext or (other[1] if other else None)
        if who is None:
            return Decision(Translation(note=f"{ANSWER}: неизвестно, кто ответил"))
        return Decision(Translation(note=f"{ANSWER}: ответил {who}"),
                        (ANSWERED_BY + who, *((RANG + ext,) if ext else ())))
    if event == END:
        return Decision(incoming_end(form, marks, zone))
    return Decision(outgoing_end(form, zone))


def _base(form: Mapping[str, str], zone: str) -> dict:
    return {
        "type": "call.ended",
        "call_id": event_id(SLUG, form["pbx_call_id"]),
        "started_at": parse_call_start(form["call_start"], zone).isoformat(),
    }


def incoming_end(form: Mapping[str, str], marks: frozenset[str], zone: str) -> Translation:
    """``NOTIFY_END``: a ``call.ended`` for every extension that rang."""
    disposition = form["disposition"]
    ext = extension(form.get("internal"), "internal")
    rang = {m[len(RANG):] for m in marks if m.startswith(RANG)}
    answered = {m[len(ANSWERED_BY):] for m in marks if m.startswith(ANSWERED_BY)}
    if ext and disposition.strip().lower() == ANSWERED:
        answered.add(ext)
    caller = phone(form.get("caller_id"))
    internal_call = caller is not None and is_extension(caller[1])
    legs = sorted((rang | ({ext} if ext else set())) - ({caller[1]} if internal_call else set()))
    if not legs:
        return Translation(note=f"{END} ({disposition[:30]}): звонок не дошёл до внутреннего номера")

    base = _base(form, zone)
    base["from"] = caller[0] if caller else ""
    if internal_call:
        base["direction"] = "internal"
    else:
        base["direction"] = "external"
        base["routing"] = "group" if len(legs) > 1 else "direct"
        line = phone(form.get("called_did"))
        if line:
            base["line"] = line[0]
    events = []
    for leg in legs:
        if answered:
            result = "answered" if leg in answered else "answered_elsewhere"
        elif disposition.strip().lower() == ANSWERED:  # answered, but whom Zadarma did not say
            result = "answered" if len(legs) == 1 else "answered_elsewhere"
        else:
            result = _result(disposition)
        events.append({**base, "id": event_id(SLUG, form["pbx_call_id"], leg), "to": leg, "result": result})
    return Translation(events)


def outgoing_end(form: Mapping[str, str], zone: str) -> Translation:
    """``NOTIFY_OUT_END``: the employee's call out (or, to an extension, an internal call)."""
    disposition = form["disposition"]
    employee = extension(form.get("internal"), "internal")
    if employee is None:
        return Translation(note=f"{OUT_END}: без внутреннего номера сотрудника, событие не создано")
    called = phone(form.get("destination"))
    if called is None:
        return Translation(note=f"{OUT_END}: номер, на который звонили, скрыт или не распознан")
    answered = disposition.strip().lower() == ANSWERED
    result = "answered" if answered else _result(disposition)
    event = {**_base(form, zone), "from": employee, "to": called[0], "result": result}
    if is_extension(called[1]):
        event.update(id=event_id(SLUG, form["pbx_call_id"], called[1]), direction="internal")
    else:
        event.update(id=event_id(SLUG, form["pbx_call_id"], employee), direction="outgoing")
    return Translation([event])


# --------------------------------------------------------------------------- the request

def caller_name_reply(form: Mapping[str, str], directory: Directory) -> Translation:
    """``NOTIFY_START``: the caller's name from the notebook as ``caller_name`` (shown on
    the employees' phones), or an empty answer that leaves the call as it is."""
    caller = phone(form.get("caller_id"))
    name = directory.contact_name(caller[1]) if caller else None
    if not name:
        return Translation(reply=Reply(""), note=f"{START}: звонок начался")
    return Translation(reply=Reply.json({"caller_name": name[:MAX_CALLER_NAME]}),
                       note=f"{START}: звонок начался, имя из записной книжки передано АТС")


def translate(req: VendorRequest, directory: Directory) -> Translation:
    form = _fields(req)
    if form["event"] == START:
        return caller_name_reply(form, directory)
    call = event_id(SLUG, form["pbx_call_id"]) if form.get("pbx_call_id") else ""
    known = directory.call_marks(SLUG, call) if form["event"] == END else frozenset()
    decision = decide(form, known, directory.time_zone())
    for mark in decision.marks:
        directory.mark_call(SLUG, call, mark)
    return decision.translation


def probe(req: VendorRequest) -> Reply | None:
    """Zadarma checks the address with ``GET ?zd_echo=<text>`` and expects the text back."""
    echo = req.query.get("zd_echo")
    if req.method == "GET" and echo is not None:
        return Reply(echo)
    return None


VENDOR = Vendor(
    slug=SLUG, title="Zadarma / Novofon",
    credentials=(
        Credential("ZADARMA_API_KEY", "Ключ API (Key)", secret=False, required=False,
                   hint="Для уведомлений не нужен: подпись проверяется секретом."),
        Credential(SECRET_KEY, "Секрет API (Secret)",
                   hint="Из кабинета Zadarma (или Novofon), раздел API: им АТС подписывает уведомления."),
        Credential("ZADARMA_API_URL", "Адрес API", secret=False, required=False,
                   default="https://api.zadarma.com",
                   hint="Сейчас не используется: записи разговоров приложение не скачивает. "
                        "Для Novofon — https://api.novofon.com."),
    ),
    verify=verify, translate=translate, probe=probe,
    setup=("В кабинете Zadarma (Novofon) в разделе API создайте ключи и вставьте сюда секрет (Secret). "
           "Там же, в уведомлениях о звонках АТС, вставьте адрес (Zadarma проверит его запросом zd_echo) "
           "и включите NOTIFY_START, NOTIFY_INTERNAL, NOTIFY_ANSWER, NOTIFY_END и NOTIFY_OUT_END. "
           "Часовой пояс кабинета должен совпадать с часовым поясом рабочего времени приложения."),
    limits=("Исход звонка Zadarma сообщает один на весь звонок: если звонили нескольким сотрудникам и никто "
            "не ответил, у всех будет исход Zadarma («no answer» — пропущенный, «cancel» — звонящий положил "
            "трубку); такой групповой звонок никого не уведомляет. Без NOTIFY_INTERNAL известен только "
            "сотрудник из NOTIFY_END, и групповой звонок выглядит прямым. О голосовых сообщениях уведомлений "
            "нет: голосовую почту Zadarma присылает письмом сама."),
)
