"""Mango Office VPBX API (contract: pbx.md): the pure half of the adapter.

Mango's "API Realtime" (MangoOffice_VPBX_API v1.9, §2.4.3, §3.1) POSTs form
fields ``vpbx_api_key``, ``sign`` and ``json`` to ``<address>/events/...``,
signed ``sign = sha256(vpbx_api_key + json + vpbx_api_salt)`` over the raw
``json`` string. One call (``entry_id``) arrives as many requests:

- ``events/call``, one per state change of each *leg* (``call_id``): a ring of
  one employee's device, the IVR, a queue, an outgoing dial... with
  ``call_state`` Appeared / Connected / OnHold / Disconnected, a per-leg ``seq``
  (notifications are sent in parallel and may arrive out of order), ``from`` /
  ``to`` (``to.extension`` the employee, ``to.acd_group`` when they rang as a
  group member), ``location`` (ivr, queue, abonent) and, when the leg ends,
  ``disconnect_reason`` (1111 no answer within the ring time, 1110 ended by the
  caller, 1121 busy, 1122 rejected, 1123/1124 do not disturb, 113x unavailable,
  1182 taken by another operator...);
- ``events/summary`` once, when the whole call is over ("the finalizing event":
  after it the call can be considered finished): ``call_direction`` (0 internal,
  1 incoming, 2 outgoing), the times, ``entry_result``, and in ``to`` the
  employee who answered (or the first who missed it).

Why events are made only once the summary is in, then for each employee whose
legs have all ended (also legs that straggle in after the summary):

- one employee may ring on several devices (legs) in one call, answer on one
  and time out on another: only all their legs together say what happened;
- a leg cut short with 1110 is the caller hanging up *or* the ring being
  cancelled because a colleague answered (Mango labels both 1110); whether a
  colleague answered is known from the other legs and the summary;
- a leg's Connected may arrive after its Disconnected; the summary names the
  employee who answered, which settles it.

An event id is ``mango:<entry_id>:<extension>`` (``…:group`` for rings as a
group member, ``…:<extension>:out:<digits>`` for an employee's call out):
made of Mango's ids only, so the order of requests and Mango's redeliveries
never make a second event (the first decision stored wins).

The requests are kept between calls by the thin plumbing
(notifier.services.mango_calls) as :class:`Note` rows; everything here but the
registry's ``translate`` that hands over to it is pure (request data in, notes
and event dicts out) and table-tested.

What Mango's data cannot tell apart (README, the settings card): a leg that
Mango ends with 1110 because its ring was cut short by the forwarding scheme is
a caller hanging up to us (the vendor's label wins); ``entry_result`` is 1 for
calls that only reached the IVR, so it is not used; voicemail: the API has no
event for a voice message (``events/recording`` and ``events/record/added``
describe conversation recordings, with nothing that marks a voice message), so
no ``voicemail.received`` comes from Mango.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from notifier.core import phones, strict_json
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

SLUG = "mango"
KEY, SALT, API_URL = "MANGO_API_KEY", "MANGO_API_SALT", "MANGO_API_URL"

CALL, SUMMARY = "call", "summary"
APPEARED, CONNECTED, ON_HOLD, DISCONNECTED = "Appeared", "Connected", "OnHold", "Disconnected"
CALL_STATES = (APPEARED, CONNECTED, ON_HOLD, DISCONNECTED)
OUTGOING = 2  # summary call_direction: 0 internal, 1 incoming, 2 outgoing

# Mango's times are Unix timestamps; the API says they are Moscow time (UTC+3):
# the events carry that offset (the same instant either way).
MSK = timezone(timedelta(hours=3))
MIN_TS, MAX_TS = 946684800, 4102444800  # 2000-01-01 .. 2100-01-01
MAX_TEXT = 128  # Mango's ids are "not more than 128 bytes"
MAX_INT = 2**31 - 1

# Mango answers its own API with result codes; 1000 = "Действие успешно выполнено".
OK = Reply.json({"result": 1000})

# What an employee's ring ended as, best first: several legs of one employee
# (devices, a group then a direct ring) make one event with the first of these.
RESULT_ORDER = ("answered", "no_answer", "answered_elsewhere", "busy", "rejected", "unavailable",
                "caller_hangup", "failed")


# --------------------------------------------------------------------------- the signature

def _field(req: VendorRequest, name: str) -> str | None:
    value = req.form.get(name)
    return value if isinstance(value, str) else None


def signature(key: str, payload: str, salt: str) -> str:
    """``sign`` as Mango computes it over the raw ``json`` string (§2.4.3), lowercase hex."""
    return hashlib.sha256((key + payload + salt).encode("utf-8", "surrogatepass")).hexdigest()


def verify(req: VendorRequest, creds: Mapping[str, str]) -> None:
    """``vpbx_api_key`` must be this PBX's and ``sign`` its signature of ``json``."""
    key, sign = _field(req, "vpbx_api_key"), _field(req, "sign")
    if not key or not sign:
        raise BadAuth("нет полей vpbx_api_key и sign: это не запрос API Mango Office")
    if not hmac.compare_digest(key.encode("utf-8", "surrogatepass"), creds[KEY].encode()):
        raise BadAuth("неверный vpbx_api_key: это запросы другой АТС Mango")
    expected = signature(key, _field(req, "json") or "", creds[SALT])
    if not hmac.compare_digest(sign.strip().lower().encode("utf-8", "surrogatepass"), expected.encode()):
        raise BadAuth("неверная подпись sign: проверьте ключ для создания подписи (vpbx_api_salt)")


def probe(req: VendorRequest) -> Reply | None:
    """«Проверить подключение» in Mango's cabinet posts to ``<address>/ping``: a 200 is all it needs."""
    return OK if req.path.strip("/") in ("ping", "events/ping") else None


# --------------------------------------------------------------------------- reading a request

@dataclass(frozen=True)
class Note:
    """One ``events/call`` or ``events/summary`` notification of call ``entry_id``, as
    kept between requests: ``call_id``/``seq`` name it (``""``/0 for the summary, of
    which there is one per call), ``data`` holds its fields, already checked."""

    entry_id: str
    call_id: str
    seq: int
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.data.get("kind", CALL)


def _text(value: Any) -> str | None:
    """A printable id or number (Mango sends some as integers), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if 0 < len(value) <= MAX_TEXT and value.isprintable() else None


def _int(value: Any) -> int | None:
    """An integer, also when Mango sends it as a string of digits ("seq": "1")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,12}", value.strip()):
        value = int(value.strip())
    return value if isinstance(value, int) and 0 <= value <= 10**12 else None


def _party(body: dict, key: str) -> dict:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadBody(f"поле {key} должно быть объектом")
    return value


def _required(body: dict, key: str) -> str:
    value = _text(body.get(key))
    if value is None:
        raise BadBody(f"нет поля {key} (строка до {MAX_TEXT} символов)")
    return value


def _call_note(body: dict) -> Note | None:
    """An ``events/call`` body as a Note, or None for a call state this adapter does not know."""
    entry_id, call_id = _required(body, "entry_id"), _required(body, "call_id")
    seq = _int(body.get("seq"))
    if seq is None or not 0 < seq <= MAX_INT:
        raise BadBody("нет поля seq (номер уведомления по вызову)")
    state = body.get("call_state")
    if not isinstance(state, str):
        raise BadBody("нет поля call_state")
    if state not in CALL_STATES:
        return None
    src, dst = _party(body, "from"), _party(body, "to")
    location = _text(body.get("location"))
    return Note(entry_id, call_id, seq, {
        "kind": CALL,
        "state": state,
        "ts": _int(body.get("timestamp")),
        "location": location.lower() if location else None,
        "from_ext": _text(src.get("extension")),
        "from_num": _text(src.get("number")),
        "transferred": _text(src.get("taken_from_call_id")) is not None,
        "to_ext": _text(dst.get("extension")),
        "to_num": _text(dst.get("number")),
        "line": _text(dst.get("line_number")),
        # "acd_group" is sent (empty when the group has no short number) when the
        # leg rings an employee as a member of a group.
        "group": (_text(dst.get("acd_group")) or "") if "acd_group" in dst else None,
        "reason": _int(body.get("disconnect_reason")),
        "command": (_text(body.get("command_id")) or _text(body.get("callback_initiator"))) is not None,
    })


def _summary_note(body: dict) -> Note:
    src, dst = _party(body, "from"), _party(body, "to")
    return Note(_required(body, "entry_id"), "", 0, {
        "kind": SUMMARY,
        "direction": _int(body.get("call_direction")),
        "from_ext": _text(src.get("extension")),
        "from_num": _text(src.get("number")),
        "to_ext": _text(dst.get("extension")),
        "to_num": _text(dst.get("number")),
        "line": _text(body.get("line_number")),
        "create": _int(body.get("create_time")),
        "talk": _int(body.get("talk_time")),
        "end": _int(body.get("end_time")),
        "reason": _int(body.get("disconnect_reason")),
    })


def _body(req: VendorRequest) -> dict:
    payload = _field(req, "json")
    if payload is None:
        raise BadBody("нет поля json")
    try:
        body = strict_json.loads(payload)
    except ValueError:
        raise BadBody("поле json — не JSON") from None
    if not isinstance(body, dict):
        raise BadBody("поле json должно быть JSON-объектом")
    return body


def read(req: VendorRequest) -> Note | Translation:
    """The request as a Note of a call, or the whole answer for a request that is no part of one."""
    path = req.path.strip("/")
    if req.method != "POST":
        raise BadBody("Mango присылает уведомления POST-запросами")
    if not path.startswith("events/"):
        raise BadBody(f"неизвестный адрес /{path[:40]}: в кабинете Mango укажите адрес из настроек без /events")
    body = _body(req)
    if path == "events/call":
        note = _call_note(body)
        if note is None:
            state = str(body.get("call_state"))[:20]
            return Translation(reply=OK, note=f"events/call: состояние {state} не используется")
        return note
    if path == "events/summary":
        return _summary_note(body)
    if path in ("events/recording", "events/record/added"):
        return Translation(reply=OK, note=f"{path}: запись разговора — голосовую почту API Mango не отличает, "
                                          "событий нет")
    return Translation(reply=OK, note=f"{path[:40]}: уведомление не используется")


# --------------------------------------------------------------------------- what the notes mean

def _moment(ts: int | None) -> datetime | None:
    return datetime.fromtimestamp(ts, MSK) if ts is not None and MIN_TS <= ts <= MAX_TS else None


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, MSK).isoformat()


def _canonical(raw: str | None) -> str | None:
    try:
        return phones.normalize(raw) if raw else None
    except Exception:  # phones.InvalidNumber, or text the library trips over
        return None


def _extension(raw: str | None) -> str | None:
    """An employee's extension as Mango sent it, when it is one."""
    key = _canonical(raw)
    return raw if key is not None and not key.startswith("+") else None


def _outside(raw: str | None) -> str | None:
    """An outside number as sent (``sip:79001234567@host`` as its user part), when it is one."""
    if raw and raw[:4].lower() == "sip:":
        raw = raw[4:].split("@", 1)[0]
    return raw if _canonical(raw) is not None else None


def _digits(raw: str) -> str:
    return re.sub(r"\D", "", raw)


def reason_result(code: int | None) -> str | None:
    """What a leg that never connected ended as, by its ``disconnect_reason`` (Mango's
    "Список кодов результатов": unknown codes count as their class); None when the
    ring was cut short (1110 "завершен вызывающим абонентом", 1100, no code...) and
    only the other legs can say whether a colleague answered."""
    if code is None or 1000 <= code <= 1110 or 1112 <= code <= 1119 or code == 1183:
        return None
    if code == 1111:
        return "no_answer"
    if code == 1121 or code == 1193:
        return "busy"
    if code in (1123, 1124) or 1130 <= code <= 1139 or 1190 <= code <= 1199 or 4200 <= code <= 4299:
        return "unavailable"
    if 1120 <= code <= 1129:
        return "rejected"
    if code == 1182:  # "завершен перехватом на другого оператора"
        return "answered_elsewhere"
    return "failed"


@dataclass
class Leg:
    """One ``call_id`` of a call: its notifications in ``seq`` order."""

    call_id: str
    notes: list[dict]

    @property
    def first(self) -> dict:
        return self.notes[0]

    def _times(self, state: str | None = None) -> list[int]:
        return [n["ts"] for n in self.notes if _moment(n.get("ts")) and (state is None or n["state"] == state)]

    @property
    def start(self) -> int | None:
        appeared = self._times(APPEARED)
        times = appeared or self._times()
        return min(times) if times else None

    @property
    def connected_at(self) -> int | None:
        times = self._times(CONNECTED)
        return min(times) if times else None

    @property
    def connected(self) -> bool:
        return any(n["state"] == CONNECTED for n in self.notes)

    @property
    def ended(self) -> dict | None:
        ends = [n for n in self.notes if n["state"] == DISCONNECTED]
        return ends[-1] if ends else None

    @property
    def end(self) -> int | None:
        ended = self.ended
        return ended["ts"] if ended and _moment(ended.get("ts")) else None

    def spans(self, ts: int) -> bool:
        """Whether ``ts`` falls while this leg rang (an unknown bound is open)."""
        return (self.start is None or self.start <= ts) and (self.end is None or ts <= self.end)


def _legs(notes: Iterable[Note]) -> list[Leg]:
    by_call: dict[str, list[tuple[int, dict]]] = {}
    for note in notes:
        if note.kind == CALL:
            by_call.setdefault(note.call_id, []).append((note.seq, dict(note.data)))
    return [Leg(call_id, [data for _, data in sorted(items, key=lambda i: i[0])])
            for call_id, items in sorted(by_call.items())]


def _rings(leg: Leg) -> str | None:
    """The employee (extension) this leg rang, or None: the IVR, a queue not yet
    handed to anyone, a dial out, or the PBX ringing an employee first to connect
    a callback they (or a command, a widget...) ordered."""
    f = leg.first
    if f.get("location") == "ivr":
        return None
    if f.get("command") and not f.get("transferred"):
        return None
    return _extension(f.get("to_ext"))


def _dials(leg: Leg) -> tuple[str, str] | None:
    """(employee extension, outside number) of a leg where an employee calls out."""
    f = leg.first
    if f.get("location") == "ivr" or f.get("to_ext"):
        return None
    ext, number = _extension(f.get("from_ext")), _outside(f.get("to_num"))
    return (ext, number) if ext and number else None


def _routing(leg: Leg) -> str:
    f = leg.first
    return "group" if f.get("group") is not None or f.get("location") == "queue" else "direct"


@dataclass
class Call:
    """All that is known of one call (``entry_id``) so far."""

    entry_id: str
    legs: list[Leg]
    summary: dict | None

    def someone_else_answered(self, leg: Leg, ext: str) -> bool:
        """Whether another employee took the call while ``leg`` rang (so a ring cut short
        was cancelled, not abandoned by the caller)."""
        for other in self.legs:
            other_ext = _rings(other)
            if other is leg or other_ext is None or other_ext == ext or not other.connected:
                continue
            at = other.connected_at
            if at is None or leg.spans(at):
                return True
        s = self.summary or {}
        answered_by, talk = _extension(s.get("to_ext")), s.get("talk")
        return bool(answered_by and answered_by != ext and _moment(talk) and leg.spans(talk))

    def answered_by(self) -> set[str]:
        """The employees who took the call on any of their legs, or whom the summary
        names as the one who answered (their own Connected may not have arrived)."""
        taken = {ext for leg in self.legs if leg.connected and (ext := _rings(leg))}
        s = self.summary or {}
        named = _extension(s.get("to_ext"))
        if named and _moment(s.get("talk")):
            taken.add(named)
        return taken


def _ring_event(call: Call, ext: str, routing: str, legs: list[Leg]) -> dict | None:
    """One employee's rings of one kind (direct or as a group member) as one event.
    An employee who took the call on any leg answered it; otherwise the best of what
    their legs ended as (a ring that timed out on one device is a missed call)."""
    if ext in call.answered_by():
        result = "answered"
    else:
        results = []
        for leg in legs:
            code = leg.ended.get("reason")
            result = reason_result(code)
            if result is None:
                if call.someone_else_answered(leg, ext):
                    result = "answered_elsewhere"
                else:  # 1183 "назначен новый оператор": the ring was moved on unanswered
                    result = "no_answer" if code == 1183 else "caller_hangup"
            results.append(result)
        result = min(results, key=RESULT_ORDER.index)
    answered_at = min((leg.connected_at for leg in legs if leg.connected_at is not None), default=None)
    if result == "answered" and answered_at is None and _extension((call.summary or {}).get("to_ext")) == ext:
        answered_at = call.summary.get("talk")

    starts = [leg.start for leg in legs if leg.start is not None]
    ends = [leg.end for leg in legs if leg.end is not None]
    start = min(starts) if starts else (call.summary or {}).get("create")
    if not _moment(start):
        return None
    earliest = min(legs, key=lambda leg: (leg.start if leg.start is not None else MAX_TS + 1, leg.call_id))
    f = earliest.first
    caller_ext = _extension(f.get("from_ext"))
    event: dict[str, Any] = {
        "id": event_id(SLUG, call.entry_id, ext, *(("group",) if routing == "group" else ())),
        "type": "call.ended",
        "call_id": event_id(SLUG, call.entry_id),
        "started_at": _iso(start),
        "direction": "internal" if caller_ext else "external",
        "from": caller_ext or _outside(f.get("from_num")) or "",
        "to": ext,
        "routing": routing,
        "result": result,
    }
    line = f.get("line")
    if not caller_ext and line and len(line) <= 64:
        event["line"] = line
    end = max(ends) if ends else None
    if end is not None and end >= start:
        event["ended_at"] = _iso(end)
    ring_end = answered_at if result == "answered" else end
    if _moment(ring_end) and ring_end >= start:
        event["ring_seconds"] = min(ring_end - start, MAX_INT)
    return event


def _dial_event(call: Call, ext: str, number: str, legs: list[Leg] | None) -> dict | None:
    """An employee's call out, from its legs or (without them) from the summary."""
    s = call.summary or {}
    # The summary of this very call out says whether it was answered (a leg's Connected may come late).
    own = (s.get("direction") == OUTGOING and _extension(s.get("from_ext")) == ext
           and _digits(_outside(s.get("to_num")) or "") == _digits(number))
    summary_answered_at = s.get("talk") if own and _moment(s.get("talk")) else None
    if legs:
        answered = any(leg.connected for leg in legs) or summary_answered_at is not None
        codes = [leg.ended.get("reason") for leg in legs]
        start = min((leg.start for leg in legs if leg.start is not None), default=s.get("create"))
        end = max((leg.end for leg in legs if leg.end is not None), default=None)
        answered_at = min((leg.connected_at for leg in legs if leg.connected_at is not None),
                          default=summary_answered_at)
    else:
        answered = summary_answered_at is not None
        codes = [s.get("reason")]
        start, end = s.get("create"), s.get("end")
        answered_at = summary_answered_at
    if not _moment(start):
        return None
    if answered:
        result = "answered"
    else:
        result = min((reason_result(code) or "caller_hangup" for code in codes), key=RESULT_ORDER.index)
    event: dict[str, Any] = {
        "id": event_id(SLUG, call.entry_id, ext, "out", _digits(number)),
        "type": "call.ended",
        "call_id": event_id(SLUG, call.entry_id),
        "started_at": _iso(start),
        "direction": "outgoing",
        "from": ext,
        "to": number,
        "result": result,
    }
    if _moment(end) and end >= start:
        event["ended_at"] = _iso(end)
    ring_end = answered_at if answered and _moment(answered_at) else end
    if _moment(ring_end) and ring_end >= start:
        event["ring_seconds"] = min(ring_end - start, MAX_INT)
    return event


def events(notes: Iterable[Note]) -> tuple[list[dict], str]:
    """The events the notes of one call make so far, and a note for Settings when none.

    Nothing before the summary; then one event per employee (and way they rang) whose
    legs have all ended. Called again with every request of the call, it returns the
    same events (and the ones decided since): intake keeps each id once."""
    notes = list(notes)
    if not notes:
        return [], ""
    entry_id = notes[0].entry_id
    summary = next((dict(n.data) for n in notes if n.kind == SUMMARY), None)
    if summary is None:
        return [], "звонок идёт: события будут после уведомления о завершении (events/summary)"
    call = Call(entry_id, _legs(notes), summary)

    rings: dict[tuple[str, str], list[Leg]] = {}
    dials: dict[tuple[str, str], list[Leg]] = {}
    numbers: dict[tuple[str, str], str] = {}
    for leg in call.legs:
        ext = _rings(leg)
        if ext is not None:
            rings.setdefault((ext, _routing(leg)), []).append(leg)
            continue
        dial = _dials(leg)
        if dial is not None:
            key = (dial[0], _digits(dial[1]))
            dials.setdefault(key, []).append(leg)
            numbers.setdefault(key, dial[1])

    made: list[dict] = []
    waiting = 0
    for (ext, routing), legs in rings.items():
        if any(leg.ended is None for leg in legs):
            waiting += 1
            continue
        event = _ring_event(call, ext, routing, legs)
        if event is not None:
            made.append(event)
    for key, legs in dials.items():
        if any(leg.ended is None for leg in legs):
            waiting += 1
            continue
        event = _dial_event(call, key[0], numbers[key], legs)
        if event is not None:
            made.append(event)
    if summary.get("direction") == OUTGOING:
        ext, number = _extension(summary.get("from_ext")), _outside(summary.get("to_num"))
        if ext and number and (ext, _digits(number)) not in dials:
            event = _dial_event(call, ext, number, None)
            if event is not None:
                made.append(event)
    if made:
        return made, ""
    if waiting:
        return [], "ждём завершения звонков сотрудникам (events/call Disconnected)"
    return [], "звонок без сотрудников (например, только голосовое меню): событий нет"


# --------------------------------------------------------------------------- the vendor

SETUP = ("В личном кабинете Mango Office: «Интеграции» → «API коннектор». Скопируйте оттуда «Уникальный код "
         "вашей АТС» (vpbx_api_key) и «Ключ для создания подписи» (vpbx_api_salt) в поля ниже, а адрес ниже "
         "вставьте в поле адреса внешней системы и сохраните; «Проверить подключение» должно пройти. "
         "Уведомления о вызовах и о завершении вызова (events/summary) должны быть включены: события "
         "создаются после завершения звонка.")
LIMITS = ("Mango помечает одним кодом 1110 и звонящего, положившего трубку, и звонок сотруднику, прерванный "
          "схемой переадресации: такой звонок не считается пропущенным; пропущенный — только звонок, на "
          "который не ответили за время дозвона (код 1111). Голосовую почту API Mango не передаёт: "
          "уведомления о записях разговоров (events/recording) не отличают голосовое сообщение от записи "
          "разговора, поэтому уведомлений о голосовой почте от Mango нет. Звонок, дошедший только до "
          "голосового меню, событий не создаёт. Без уведомления о завершении вызова (events/summary) "
          "событий нет.")


def translate(req: VendorRequest, directory: Directory) -> Translation:
    """The registry's ``translate``: a call's notes are kept between requests by the
    thin plumbing notifier.services.mango_calls, which reads this request with
    :func:`read` and the call with :func:`events`. Imported when called: the
    registry is read by config and the models, and must not import the database layer."""
    from notifier.services import mango_calls

    return mango_calls.translate(req, directory)


VENDOR = Vendor(
    slug=SLUG, title="Mango Office",
    credentials=(
        Credential(KEY, "Уникальный код АТС (vpbx_api_key)", secret=False),
        Credential(SALT, "Ключ для создания подписи (vpbx_api_salt)"),
        Credential(API_URL, "Адрес API", secret=False, required=False,
                   default="https://app.mango-office.ru/vpbx/",
                   hint="Не используется: голосовых сообщений, к которым нужна запись, API Mango не передаёт."),
    ),
    verify=verify, translate=translate, probe=probe,
    redact=("vpbx_api_key", "sign"),
    setup=SETUP, limits=LIMITS,
)
