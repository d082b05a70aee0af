"""MegaFon virtual PBX "API для CRM" and the PBXes built on the same platform
(ITooLabs: Gravitel, Dom.ru and others) (contract: pbx.md).

The PBX posts form fields to one address (the CRM's "Адрес вашей CRM"), every
request with ``cmd`` and ``crm_token`` (the key the admin typed into the PBX's
cabinet, here VATS_CRM_TOKEN):

- ``cmd=history``: once per call when it ends: ``type`` (``in``/``out``),
  ``user`` (the employee's login), ``ext``, ``telnum``, ``groupRealName`` (the
  department the call came through), ``phone`` (the client), ``diversion``
  (the company number dialled), ``start`` (``YYYYmmddTHHMMSSZ``, UTC),
  ``duration`` (seconds, the whole call), ``link`` (the call recording),
  ``status``, ``callid``. This is what becomes a ``call.ended`` event.
- ``cmd=event``: live notices per ringing employee (``INCOMING``, ``ACCEPTED``,
  ``COMPLETED``, ``CANCELLED``, ``OUTGOING``, ``TRANSFERRED``): acknowledged,
  no event (the call's outcome comes with ``history``).
- ``cmd=contact``: the PBX asks for the caller's name when a call comes in;
  answered ``{"contact_name": "..."}`` from the client notebook, ``{}`` when
  the number is unknown (the PBX then shows the bare number).
- ``cmd=rating``: a caller's rating of the call: acknowledged, not used.

History ``status`` -> ``result`` (the vendor's words in the comments):
``Success`` answered; ``missed`` / ``Missed`` ("пропущенный звонок") no_answer;
``Cancel`` ("звонок отменен") caller_hangup; ``Busy`` busy; ``NotAvailable``
unavailable; ``NotAllowed`` / ``NotFound`` failed.

What the vendor's data cannot tell apart (README and the settings card say so):
- the API documents no reason for "missed": a caller who gave up while it rang
  and a ring that timed out both come as ``missed`` (older platforms have no
  ``Cancel`` at all); following pbx.md, its "missed" is a missed call;
- one history per call, naming one employee: group members who rang and did
  not answer are not reported, so there is no ``answered_elsewhere`` (and a
  ``CANCELLED`` notice is, in the vendor's words, either a caller who gave up
  or a colleague who answered);
- the API has no voicemail: ``link`` is the call recording (kept with the raw
  request in «Журнал»).

A call whose ``phone`` is an internal number (1 to 6 digits) is taken as an
internal call; the API is about calls with clients and may never send one.
"""
from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

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

SLUG = "vats"
TOKEN_KEY = "VATS_CRM_TOKEN"

# history ``status`` (compared case-insensitively: the docs spell "missed" and "Missed") -> result
STATUSES: dict[str, str] = {
    "success": "answered",
    "missed": "no_answer",
    "cancel": "caller_hangup",
    "busy": "busy",
    "notavailable": "unavailable",
    "notallowed": "failed",
    "notfound": "failed",
}
COMMANDS = ("history", "event", "contact", "rating")
DIRECTIONS = {"in": "in", "out": "out"}

_START = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z?$")
MAX_FIELD = 200
MAX_LINE = 64  # events.md: ``line`` is at most 64 characters
MAX_DURATION = 10 * 24 * 3600


# --------------------------------------------------------------------------- the request's fields

def fields(req: VendorRequest) -> dict[str, str]:
    """The command's parameters: the form (as the PBX posts), else a JSON object
    (some platform versions' examples), over the query (the docs allow GET for
    ``history``). Values other than strings and numbers are dropped."""
    values: dict[str, str] = dict(req.query)
    if req.form:
        values.update(req.form)
    elif req.body and "json" in req.content_type:
        try:
            body = req.json()
        except BadBody:
            body = None
        if isinstance(body, dict):
            for key, value in body.items():
                if isinstance(value, str):
                    values[str(key)] = value
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    values[str(key)] = str(value)
    return values


# --------------------------------------------------------------------------- authentication

def verify(req: VendorRequest, creds: Mapping[str, str]) -> None:
    """``crm_token`` equals VATS_CRM_TOKEN (constant time)."""
    offered = fields(req).get("crm_token")
    if not offered:
        raise BadAuth("нет crm_token: укажите адрес и ключ в настройках интеграции с CRM в кабинете ВАТС")
    expected = (creds.get(TOKEN_KEY) or "").encode()
    if not hmac.compare_digest(offered.encode("utf-8", "surrogatepass"), expected):
        raise BadAuth("неверный crm_token")


# --------------------------------------------------------------------------- translation

def _text(values: Mapping[str, str], key: str) -> str:
    """A field, "" when absent; refused when long or with control characters."""
    value = (values.get(key) or "").strip()
    if len(value) > MAX_FIELD or not value.isprintable():
        raise BadBody(f"поле {key} слишком длинное или с управляющими символами")
    return value


def parse_start(raw: str) -> datetime:
    """``start``: ``YYYYmmddTHHMMSSZ`` in UTC (e.g. ``20170905T150852Z``)."""
    if not raw:
        raise BadBody("нет поля start")
    m = _START.match(raw)
    if not m:
        raise BadBody("поле start: время не в формате 20261125T071503Z")
    try:
        moment = datetime(*(int(g) for g in m.groups()), tzinfo=timezone.utc)
    except ValueError:
        raise BadBody("поле start: такого времени нет") from None
    if not 2000 <= moment.year <= 2100:
        raise BadBody("поле start: время вне разумных пределов")
    return moment


def parse_duration(raw: str) -> int | None:
    """``duration`` in whole seconds; informational, so an odd value is just unknown."""
    if raw.isdigit() and len(raw) <= 9 and int(raw) <= MAX_DURATION:
        return int(raw)
    return None


def _canonical(raw: str) -> str | None:
    try:
        return phones.normalize(raw) if raw else None
    except Exception:  # phones.InvalidNumber, or text the library trips over
        return None


def _employee(values: Mapping[str, str]) -> str:
    """The employee's number: the extension, else the direct number, else the
    login when it is a number; "" when the PBX named none of them."""
    for key in ("ext", "telnum", "user"):
        raw = _text(values, key)
        if raw and _canonical(raw) is not None:
            return raw
    return ""


def _utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def translate_history(values: Mapping[str, str]) -> Translation:
    """One ``history`` request -> at most one ``call.ended`` event."""
    callid = _text(values, "callid")
    if not callid:
        raise BadBody("нет поля callid")
    way = DIRECTIONS.get(_text(values, "type").lower())
    if way is None:
        raise BadBody("поле type должно быть in или out")
    status = _text(values, "status")
    result = STATUSES.get(status.lower())
    if result is None:
        raise BadBody("поле status должно быть одним из: Success, missed, Cancel, Busy, NotAvailable, "
                      "NotAllowed, NotFound")
    started = parse_start(_text(values, "start"))
    duration = parse_duration(_text(values, "duration"))
    if "phone" not in values:
        raise BadBody("нет поля phone")
    client = _text(values, "phone")
    user = _text(values, "user") or _text(values, "ext")
    if not user:
        raise BadBody("нет поля user")
    employee = _employee(values)
    if not employee:
        return Translation(note=f"history {status}: у сотрудника {user[:40]} нет внутреннего или прямого номера, "
                                f"событие не создано")
    group = _text(values, "groupRealName")
    client_key = _canonical(client)

    if way == "in":
        internal = client_key is not None and not client_key.startswith("+")
        event = {"from": client if client_key is not None else "", "to": employee,
                 "direction": "internal" if internal else "external"}
        if not internal:
            event["routing"] = "group" if group else "direct"
            line = _text(values, "diversion")
            if line and len(line) <= MAX_LINE:
                event["line"] = line
        elif group:
            event["routing"] = "group"
    else:
        if client_key is None:
            return Translation(note=f"history out {status}: номер, на который звонили, скрыт или не распознан")
        event = {"from": employee, "to": client, "direction": "outgoing"}

    event.update({
        "id": event_id(SLUG, callid, user),
        "type": "call.ended",
        "call_id": event_id(SLUG, callid),
        "started_at": _utc(started),
        "result": result,
    })
    if duration is not None:
        event["ended_at"] = _utc(started + timedelta(seconds=duration))
        if result != "answered":
            event["ring_seconds"] = duration  # nobody answered: the whole call was ringing
    return Translation([event])


def contact_reply(values: Mapping[str, str], directory: Directory) -> Reply:
    """The caller's name as the PBX shows it: ``{"contact_name": ...}``, or ``{}``."""
    number = (values.get("phone") or "")[:64]
    name = directory.contact_name(number) if number else None
    return Reply.json({"contact_name": name} if name else {})


def translate(req: VendorRequest, directory: Directory) -> Translation:
    values = fields(req)
    cmd = _text(values, "cmd")
    if cmd == "history":
        return translate_history(values)
    if cmd == "contact":
        return Translation(reply=contact_reply(values, directory), note="contact: имя звонящего")
    if cmd == "event":
        kind = _text(values, "type")[:20] or "?"
        return Translation(note=f"event {kind}: звонок идёт, итог придёт командой history")
    if cmd == "rating":
        return Translation(note="rating: оценка звонка не используется")
    raise BadBody("поле cmd должно быть одним из: " + ", ".join(COMMANDS))


VENDOR = Vendor(
    slug=SLUG, title="МегаФон ВАТС и совместимые (API для CRM)",
    credentials=(Credential(
        TOKEN_KEY, "Ключ для авторизации в вашей CRM (crm_token)",
        hint="Придумайте длинную случайную строку и вставьте её и здесь, и в кабинете ВАТС.",
        pattern=r"[\x21-\x7e]{8,256}",
        pattern_message="От 8 до 256 символов: латинские буквы, цифры и знаки, без пробелов",
    ),),
    verify=verify, translate=translate,
    redact=("crm_token",),
    setup=("В кабинете ВАТС: «Настройки» → «Интеграция с CRM» → «Ваша CRM» → «Подключить». «Адрес вашей CRM» — "
           "адрес ниже, «Ключ для авторизации в вашей CRM» — ключ, сохранённый здесь; сохраните. Так же "
           "подключаются Гравител и другие АТС с тем же «API для CRM» (раздел интеграции с CRM или API)."),
    limits=("АТС сообщает итог звонка одной записью в конце (history) и не указывает причину пропуска: звонящий, "
            "положивший трубку, и истёкшее время ожидания для неё одинаково «missed», и приложение считает такой "
            "звонок пропущенным (статус «Cancel», где АТС его присылает, — звонящий положил трубку, без уведомления). "
            "Сотрудники отдела (группы), не взявшие трубку, в запись не попадают; звонок через отдел считается "
            "групповым и не уведомляет. Голосовой почты в этом API нет: ссылка link — запись разговора, она видна "
            "в «Журнале»."),
)
