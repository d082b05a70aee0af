"""3CX: the server-side CRM integration template's call journaling (contract: pbx.md).

3CX speaks to a CRM only through a template the admin uploads
(threecx_template.xml, made per installation by :func:`template` with the
app's address and THREECX_TOKEN). Its two scenarios reach
``/api/v1/pbx/3cx/<path>``:

- ``GET lookup?number=...`` (phone number matching): the caller's name from
  the client notebook, so 3CX shows who is calling;
- ``POST call`` (``ReportCall``, call journaling): once per call when it ends,
  JSON with ``call_type`` = 3CX's ``[CallType]``, one of ``Inbound`` (answered
  incoming), ``Missed`` (unanswered incoming), ``Outbound`` (answered outgoing),
  ``Notanswered`` (unanswered outgoing), and ``number`` (the outside party),
  ``agent`` (the extension), ``queue`` (``[QueueExtension]``), the UTC times.

What 3CX's data cannot tell apart (README and the settings card say so):
- a caller who hung up while it rang and a ring that timed out are both
  ``Missed``: following pbx.md, its "Missed" is a missed call (``no_answer``);
- one report per call, not per ringing phone: members of a group that did
  not answer are not reported, so there is no ``answered_elsewhere``;
- a queue call carries ``[QueueExtension]`` (then ``routing: "group"``); a ring
  group does not, so its calls count as direct to the agent reported;
- no call id: an event's id is made of the direction, the start time, the
  outside number and the extension, which a redelivery repeats;
- calls between two extensions are not journaled by 3CX at all.

Authentication: the token as HTTP Basic password (the template's
``<Authentication Type="Basic">``), else the ``token`` field of the JSON
body or query; compared in constant time.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from importlib import resources
from string import Template
from xml.sax.saxutils import escape

from notifier.core import phones
from notifier.pbx.base import (
    BadAuth,
    BadBody,
    Credential,
    Directory,
    Reply,
    Translation,
    Vendor,
    VendorFile,
    VendorRequest,
    event_id,
)

SLUG = "3cx"
TOKEN_KEY = "THREECX_TOKEN"

INBOUND, MISSED, OUTBOUND, NOT_ANSWERED = "Inbound", "Missed", "Outbound", "Notanswered"
# 3CX [CallType] -> (direction, result)
CALL_TYPES: dict[str, tuple[str, str]] = {
    INBOUND: ("external", "answered"),
    MISSED: ("external", "no_answer"),
    OUTBOUND: ("outgoing", "answered"),
    NOT_ANSWERED: ("outgoing", "no_answer"),
}

_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,7})?(Z|[+-]\d{2}:\d{2})?$")
_DURATION = re.compile(r"^(?:(\d{1,5}):)?(\d{1,2}):(\d{2})(?:\.\d+)?$")
_UNFILLED = re.compile(r"^\[[A-Za-z]+\]$")  # a 3CX variable the engine left as it was
MAX_FIELD = 200
# Characters that mean nothing to 3CX's template expressions ([...]) nor to XML, URLs or Basic auth.
TOKEN_PATTERN = r"[A-Za-z0-9_.~-]{16,128}"


# --------------------------------------------------------------------------- authentication

def _basic_password(header: str | None) -> str | None:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded.partition(":")[2] or None


def _body_token(req: VendorRequest) -> str | None:
    if "json" not in req.content_type:
        return None
    try:
        body = req.json()
    except BadBody:
        return None
    token = body.get("token") if isinstance(body, dict) else None
    return token if isinstance(token, str) else None


def verify(req: VendorRequest, creds: Mapping[str, str]) -> None:
    expected = (creds.get(TOKEN_KEY) or "").encode()
    offered = [_basic_password(req.header("authorization")), req.query.get("token"), _body_token(req)]
    if not any(t for t in offered):
        raise BadAuth("нет токена 3CX: загрузите в 3CX шаблон, скачанный в настройках")
    if not any(t and hmac.compare_digest(t.encode("utf-8", "surrogatepass"), expected) for t in offered):
        raise BadAuth("неверный токен 3CX")


# --------------------------------------------------------------------------- translation

def _text(body: dict, key: str) -> str:
    """A string field, "" when absent, empty or left unfilled by 3CX; never another type."""
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadBody(f"поле {key} должно быть строкой")
    value = value.strip()
    if len(value) > MAX_FIELD or not value.isprintable():
        raise BadBody(f"поле {key} слишком длинное или с управляющими символами")
    return "" if _UNFILLED.match(value) else value


def parse_time(raw: str, key: str, required: bool = False) -> datetime | None:
    """The template's ``yyyy-MM-ddTHH:mm:ssZ`` (UTC); a time without an offset is UTC too.

    Only the start time is required: 3CX renders a time a call never reached
    (answered, for a missed call) as ``0001-01-01T00:00:00Z`` or leaves it out,
    so an optional time that is absent, odd or implausible is just unknown."""
    try:
        return _parse_time(raw, key)
    except BadBody:
        if required:
            raise
        return None


def _parse_time(raw: str, key: str) -> datetime:
    if not raw:
        raise BadBody(f"нет поля {key}")
    m = _TIME.match(raw)
    if not m:
        raise BadBody(f"поле {key}: время не в формате 2026-11-25T07:15:03Z")
    year, month, day, hour, minute, second, offset = m.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        raise BadBody(f"поле {key}: такого времени нет") from None
    if offset and offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            raise BadBody(f"поле {key}: неверный часовой пояс")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    else:
        tz = timezone.utc
    moment = moment.replace(tzinfo=tz)
    if not 2000 <= moment.astimezone(timezone.utc).year <= 2100:
        raise BadBody(f"поле {key}: время вне разумных пределов")
    return moment


def parse_duration(raw: str) -> int | None:
    """``[Duration]``: ``hh:mm:ss`` (also ``mm:ss`` or whole seconds) in seconds."""
    if not raw:
        return None
    if raw.isdigit() and len(raw) <= 9:
        return int(raw)
    m = _DURATION.match(raw)
    if not m:
        return None  # informational only: never worth refusing a call for
    hours, minutes, seconds = (int(g) if g else 0 for g in m.groups())
    return hours * 3600 + minutes * 60 + seconds


def _number(raw: str, key: str, required: bool) -> str:
    """The number as sent when it is one (or hidden); a required party must be a number."""
    try:
        canonical = phones.normalize(raw) if raw else None
    except Exception:  # phones.InvalidNumber, or text the library trips over
        if required:
            raise BadBody(f"поле {key}: «{raw[:40]}» — не номер") from None
        return ""  # an outside caller's odd caller ID: shown as hidden rather than lost
    if canonical is None:
        if required:
            raise BadBody(f"поле {key}: номер скрыт или пуст")
        return ""
    return raw


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _id_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def translate_call(body: object) -> Translation:
    """One ReportCall body -> at most one ``call.ended`` event."""
    if not isinstance(body, dict):
        raise BadBody("тело запроса должно быть JSON-объектом")
    call_type = _text(body, "call_type")
    if call_type not in CALL_TYPES:
        raise BadBody("call_type должен быть одним из: " + ", ".join(CALL_TYPES))
    direction, result = CALL_TYPES[call_type]
    started = parse_time(_text(body, "started_at"), "started_at", required=True)
    answered = parse_time(_text(body, "answered_at"), "answered_at")
    ended = parse_time(_text(body, "ended_at"), "ended_at")
    if ended is not None and ended < started:
        ended = None  # an unset 3CX time renders as 0001-01-01... or garbage: not the call's end
    agent = _text(body, "agent")
    queue = _text(body, "queue")
    outside = _text(body, "number")
    _text(body, "duration")  # checked like any field; the event's own times say more

    if direction == "external":
        employee = agent or queue
        if not employee:
            return Translation(note=f"{call_type}: в отчёте 3CX нет добавочного сотрудника, событие не создано")
        employee = _number(employee, "agent" if agent else "queue", required=True)
        caller = _number(outside, "number", required=False)
        event = {"from": caller, "to": employee, "routing": "group" if queue else "direct"}
    else:
        if not agent:
            return Translation(note=f"{call_type}: в отчёте 3CX нет добавочного сотрудника, событие не создано")
        employee = _number(agent, "agent", required=True)
        try:
            called = _number(outside, "number", required=True)
        except BadBody:
            return Translation(note=f"{call_type}: номер, на который звонили, скрыт или не распознан")
        event = {"from": employee, "to": called}

    ring_end = answered if result == "answered" else ended
    # No call id in 3CX's report: the call is its direction, start, outside number and extension.
    way = "in" if direction == "external" else "out"
    number_part = re.sub(r"\D", "", outside) or "hidden"
    event.update({
        "id": event_id(SLUG, way, _id_time(started), number_part, employee),
        "type": "call.ended",
        "call_id": event_id(SLUG, way, _id_time(started), number_part),
        "started_at": _utc(started),
        "direction": direction,
        "result": result,
    })
    if ended is not None:
        event["ended_at"] = _utc(ended)
    if ring_end is not None and ring_end >= started:
        event["ring_seconds"] = min(int((ring_end - started).total_seconds()), 2**31 - 1)
    return Translation([event])


def lookup(number: str, directory: Directory) -> Reply:
    """The phone number matching scenario: ``{"contact": {id, name, url} | null}``."""
    contact = directory.find_contact(number) if number else None
    if contact is None:
        return Reply.json({"contact": None})
    return Reply.json({"contact": {"id": contact.id, "name": contact.name, "url": contact.url}})


def translate(req: VendorRequest, directory: Directory) -> Translation:
    path = req.path.strip("/")
    if path == "lookup":
        number = req.query.get("number", "")
        found = lookup(number[:64], directory)
        return Translation(reply=found, note="поиск имени звонящего")
    if path in ("", "call"):
        if req.method != "POST":
            raise BadBody("отчёт о звонке приходит POST-запросом с JSON")
        return translate_call(req.json())
    raise BadBody(f"неизвестный адрес: /{path[:40]}")


# --------------------------------------------------------------------------- the template

def template(address: str, creds: Mapping[str, str]) -> str:
    """threecx_template.xml for this installation: its address and token filled in (XML-escaped)."""
    text = resources.files("notifier.pbx").joinpath("threecx_template.xml").read_text("utf-8")
    quote = {'"': "&quot;"}
    return Template(text).substitute(address=escape(address, quote), token=escape(creds[TOKEN_KEY], quote))


VENDOR = Vendor(
    slug=SLUG, title="3CX",
    credentials=(Credential(
        TOKEN_KEY, "Токен для шаблона интеграции",
        hint="Длинная случайная строка (например, из менеджера паролей); она войдёт в шаблон.",
        pattern=TOKEN_PATTERN,
        pattern_message="От 16 до 128 символов: латинские буквы, цифры, «-», «_», «.», «~»",
    ),),
    verify=verify, translate=translate,
    redact=("token",),
    files=(VendorFile("3cx-notifier-template.xml", "Скачать шаблон для 3CX", template, "application/xml"),),
    setup=("Сохраните токен, скачайте шаблон и загрузите его в 3CX: «Интеграции → CRM → Server Side → Добавить», "
           "включите журналирование звонков (Enable Call Journaling). Нужна редакция 3CX с CRM-интеграцией."),
    limits=("3CX сообщает о звонке одним отчётом в конце: звонящий, положивший трубку, и истёкшее время ожидания "
            "для неё одинаково «Missed», и приложение считает такой звонок пропущенным. Сотрудники группы, "
            "не взявшие трубку, в отчёт не попадают; звонок через очередь (Queue) считается групповым и не "
            "уведомляет, через группу обзвона (Ring Group) — прямым. Внутренние звонки 3CX не передаёт."),
)
