"""Asterisk / FreePBX over AMI: the calls the manager interface reports, as events (contract: pbx.md).

Asterisk posts nothing: the worker keeps an AMI connection open
(notifier.pipeline.asterisk_listener) and feeds every event it reads to
:func:`apply`, one call at a time. A call is everything with one ``Linkedid``
(the Uniqueid of the call's oldest channel, docs.asterisk.org AMI_Events/DialEnd).
Its state is a JSON-able dict the plumbing keeps between events (in Redis, so a
worker restart mid-call continues where it stopped); :func:`apply` takes it and
the event and returns the new state and, when the call's last channel hangs up,
the call's events. Pure: stdlib and notifier.core only, the time is passed in.

What the AMI events mean here (docs.asterisk.org, Asterisk 16-22 "AMI Events"):

- ``Newchannel`` of the channel whose Uniqueid is the Linkedid: the caller
  (``CallerIDNum``) and what was dialled (``Exten``: the DID on a trunk call).
- ``DialBegin`` / ``DialEnd``: one leg, Channel rings DestChannel; ``DialStatus``
  ANSWER / NOANSWER (the ring timed out) / CANCEL (the dialling ended it: the
  caller hung up, or a colleague answered) / BUSY / CHANUNAVAIL / CONGESTION.
  A leg to a ``Local/`` channel is dialplan plumbing (queues, follow-me, ring
  groups): the phone it rings is another leg further down, whose own DialEnd
  says how it ended.
- ``Hangup``: a channel is gone; when none of the call's channels is left the
  call has ended and its events are made.
- ``QueueCallerJoin`` / ``QueueCallerAbandon`` / ``AgentCalled`` /
  ``AgentRingNoAnswer`` / ``AgentConnect``: the call went through a queue, so
  every phone it rang rang as one member of a group.
- ``MessageWaiting`` with the channel fields (Asterisk 16.24, 18.10, 19.2 and
  later add them when a channel left the message): a voicemail, translated on
  its own by :func:`voicemail`.

Translation of a finished call (events.md rules; pbx.md "Rules for every adapter"):

- one ``call.ended`` per employee's extension that rang (``asterisk:<linkedid>:<ext>``):
  NOANSWER -> ``no_answer``; CANCEL/ABORT -> ``answered_elsewhere`` when another
  phone of the call answered, else ``caller_hangup``; BUSY -> ``busy``;
  CHANUNAVAIL -> ``unavailable``; CONGESTION -> ``failed``; ANSWER -> ``answered``;
- a caller from an extension is ``internal``; from outside ``external`` with
  ``routing: "group"`` when a queue was involved or the call rang more than one
  destination (several legs), else ``direct``;
- an extension calling an outside number is ``direction: "outgoing"``
  (``asterisk:<linkedid>:<number>``), notifying nobody;
- a phone's extension is its leg's ``DestCallerIDNum`` (chan_pjsip presets it
  from the endpoint's ``callerid``, which FreePBX sets to the extension; app_dial
  otherwise uses the dialled extension), else the endpoint's name in
  ``DestChannel`` (FreePBX names PJSIP endpoints by extension).

After a reconnect the plumbing asks Asterisk for its channels
(``CoreShowChannels``); a call kept from before whose channels are all gone
ended meanwhile, and :func:`close_unseen` translates it from what was seen.

What AMI cannot tell apart (README and the settings card say so): a leg that
rang after the worker had lost its connection and ended before it came back
is not seen at all; a forward after a ring timeout rings several destinations,
so it counts as a group ring; calls to an outside number are told from calls
to an extension by the number's length (1-6 digits is an extension).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

from notifier.core import phones
from notifier.pbx.base import Credential, Vendor, event_id

SLUG = "asterisk"
URL_KEY = "ASTERISK_AMI_URL"
DEFAULT_PORT = 5038

# AMI DialStatus (docs.asterisk.org AMI_Events/DialEnd) -> events.md result
DIAL_RESULTS = {
    "ANSWER": "answered",
    "NOANSWER": "no_answer",
    "BUSY": "busy",
    "CHANUNAVAIL": "unavailable",
    "CONGESTION": "failed",
}
CANCELLED = ("CANCEL", "ABORT")  # the dialling ended the leg: the caller left, or someone else answered
QUEUE_EVENTS = ("QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled",
                "AgentRingNoAnswer", "AgentConnect", "AgentComplete")
CALL_EVENTS = ("Newchannel", "DialBegin", "DialEnd", "Hangup", "BridgeEnter", *QUEUE_EVENTS)
# A result of several legs of one extension (a hunt list ringing it twice): the strongest wins.
_RESULT_RANK = ("answered", "answered_elsewhere", "no_answer", "busy", "rejected", "unavailable",
                "failed", "caller_hangup")
MAX_LEGS = 200  # of one call: a runaway dialplan must not grow a state without end
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9_]+/(?P<name>[^-;/@]+)")
_DIGITS = re.compile(r"\+?\d{1,20}")


# --------------------------------------------------------------------------- the AMI address

@dataclass(frozen=True)
class AmiTarget:
    """``ami://user:secret@host:port`` taken apart (the secret never in ``str()``)."""

    host: str
    port: int
    username: str
    secret: str = field(repr=False)

    def __str__(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"


URL_PATTERN = r"ami://[^\s:@/]+:[^\s@]+@[^\s:@/]+(:\d{1,5})?/?"
URL_MESSAGE = "Нужен адрес вида ami://пользователь:пароль@pbx.local:5038"


def parse_url(url: str | None) -> AmiTarget:
    """The AMI address, or ValueError with a Russian reason (never the secret)."""
    if not url or not url.strip():
        raise ValueError("адрес AMI не задан")
    try:
        parts = urlsplit(url.strip())
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(URL_MESSAGE) from None
    if parts.scheme != "ami" or not parts.hostname or not parts.username or parts.password is None:
        raise ValueError(URL_MESSAGE)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(URL_MESSAGE)
    username, secret = unquote(parts.username), unquote(parts.password)
    if not (username.isprintable() and secret.isprintable()) or "\r" in secret or "\n" in secret:
        raise ValueError(URL_MESSAGE)
    return AmiTarget(parts.hostname, port, username, secret)


# --------------------------------------------------------------------------- numbers

def _number(raw: str | None) -> str | None:
    """A CallerIDNum-like value as canonical number (extension digits or E.164), None if hidden or odd."""
    if not raw or raw in ("<unknown>", "<Unknown>"):
        return None
    try:
        return phones.normalize(raw)
    except Exception:  # phones.InvalidNumber or text it trips over
        return None


def is_extension(canonical: str | None) -> bool:
    return bool(canonical) and not canonical.startswith("+")


def _endpoint(channel: str) -> str:
    """``PJSIP/102-0000000a`` -> ``102``; ``Local/...`` and odd names -> ``""``."""
    if channel.startswith("Local/"):
        return ""
    m = _CHANNEL_NAME.match(channel)
    return m.group("name") if m else ""


def _dialstring_number(dialstring: str) -> str:
    """The number in a DialString (``trunk/89023855270``, ``89023855270@trunk``)."""
    for part in re.split(r"[/@]", dialstring or ""):
        if _DIGITS.fullmatch(part) and _number(part):
            return part
    return ""


def leg_number(event: Mapping[str, str]) -> str:
    """The number a leg rang, as Asterisk wrote it (see the module's docstring)."""
    for raw in (event.get("DestCallerIDNum"), _endpoint(event.get("DestChannel", "")),
                _dialstring_number(event.get("DialString", ""))):
        if raw and _number(raw):
            return raw.strip()
    return ""


def _caller(raw: str | None) -> str:
    """The caller as events.md takes it: the number, or "" for a hidden or unusable one."""
    return raw.strip() if raw and _number(raw) else ""


# --------------------------------------------------------------------------- the call's state

def call_key(event: Mapping[str, str]) -> str | None:
    """The call an AMI event belongs to (its Linkedid), or None for events no call needs."""
    if event.get("Event") not in CALL_EVENTS:
        return None
    linkedid = event.get("Linkedid") or ""
    return linkedid if 0 < len(linkedid) <= 150 and linkedid.isprintable() else None


def new_state(linkedid: str) -> dict:
    return {"linkedid": linkedid, "caller": None, "live": [], "gone": [], "legs": {}, "queue": "", "done": False}


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="seconds")


def _touch(state: dict, uniqueid: str | None) -> None:
    if uniqueid and uniqueid not in state["live"] and uniqueid not in state["gone"]:
        state["live"].append(uniqueid)


def _note_caller(state: dict, event: Mapping[str, str]) -> None:
    """The call's originating channel (Uniqueid == Linkedid): who called, and what they dialled.

    Its first CallerIDNum is kept (FreePBX puts the company's outbound caller ID
    on an employee's channel before dialling a trunk, so a later one would make
    an outgoing call look external), and the latest too, for a first one that is
    no number (a platform that sets the extension with NewCallerid)."""
    if event.get("Uniqueid") != state["linkedid"] or event.get("Event") == "Hangup":
        return
    if state["caller"] is None:
        state["caller"] = {"num": event.get("CallerIDNum", ""), "exten": event.get("Exten", ""),
                           "channel": event.get("Channel", ""), "last": ""}
    state["caller"]["last"] = event.get("CallerIDNum", "") or state["caller"]["last"]


def _leg(state: dict, event: Mapping[str, str], at: datetime) -> dict | None:
    dest = event.get("DestUniqueid") or ""
    if not dest:
        return None
    legs = state["legs"]
    if dest not in legs:
        if len(legs) >= MAX_LEGS:
            return None
        legs[dest] = {"from": event.get("Uniqueid", ""), "channel": event.get("DestChannel", ""),
                      "number": leg_number(event), "begin": _iso(at), "end": None, "status": None}
    leg = legs[dest]
    if not leg["number"]:
        leg["number"] = leg_number(event)
    return leg


def apply(state: dict | None, event: Mapping[str, str], at: datetime) -> tuple[dict | None, list[dict]]:
    """Feed one AMI event of the call ``call_key(event)``; returns (state, events).

    ``state`` None: the first event of this call seen. A state with ``done`` is
    a finished call: later events of it change nothing (so a call is never
    translated twice, whatever arrives after its end). Events come back once,
    when the last channel of the call hangs up; the state then has ``done``.
    """
    linkedid = call_key(event)
    if linkedid is None:
        return state, []
    name = event.get("Event")
    if state is None:
        if name == "Hangup":
            return None, []  # the end of a call never seen: nothing to say about it
        state = new_state(linkedid)
    if state.get("done"):
        return state, []

    _note_caller(state, event)
    if name == "Hangup":
        uid = event.get("Uniqueid", "")
        if uid in state["live"]:
            state["live"].remove(uid)
        if uid and uid not in state["gone"]:
            state["gone"].append(uid)
        if not state["live"]:
            state["done"] = True
            return state, finish(state)
        return state, []

    _touch(state, event.get("Uniqueid"))
    if name in ("DialBegin", "DialEnd") or (name in QUEUE_EVENTS and event.get("DestUniqueid")):
        _touch(state, event.get("DestUniqueid"))
        leg = _leg(state, event, at)
        if leg is not None and name == "DialEnd" and leg["status"] is None:
            status = (event.get("DialStatus") or "").upper()
            if status in DIAL_RESULTS or status in CANCELLED:  # CONTINUE/GOTO follow an ANSWER: keep it
                leg["status"], leg["end"] = status, _iso(at)
        elif leg is not None and name == "AgentRingNoAnswer" and leg["status"] is None:
            leg["status"], leg["end"] = "NOANSWER", _iso(at)
        elif leg is not None and name == "AgentConnect" and leg["status"] is None:
            leg["status"], leg["end"] = "ANSWER", _iso(at)
    if name in QUEUE_EVENTS:
        state["queue"] = event.get("Queue") or state["queue"] or "queue"
    return state, []


def close_unseen(state: dict) -> tuple[dict, list[dict]]:
    """A call none of whose channels Asterisk still has (CoreShowChannels after a
    reconnect) ended while the connection was down: its events from what was seen."""
    if state.get("done"):
        return state, []
    state["done"] = True
    return state, finish(state)


# --------------------------------------------------------------------------- a finished call

def _seconds(begin: str | None, end: str | None) -> int | None:
    if not begin or not end:
        return None
    delta = (datetime.fromisoformat(end) - datetime.fromisoformat(begin)).total_seconds()
    return max(int(delta), 0)


def _result(leg: dict, answered_elsewhere: bool) -> str | None:
    status = leg["status"]
    if status in CANCELLED:
        return "answered_elsewhere" if answered_elsewhere else "caller_hangup"
    return DIAL_RESULTS.get(status or "")


def finish(state: dict) -> list[dict]:
    """The events of a finished call (see the module's docstring). A leg whose end
    was not seen (a ring cut by a lost connection) makes no event: no guess."""
    caller = state.get("caller") or {}
    caller_raw = _caller(caller.get("num")) or _caller(caller.get("last"))
    caller_key = _number(caller_raw)
    from_extension = is_extension(caller_key)
    phones_legs = [(uid, leg) for uid, leg in state["legs"].items()
                   if not leg["channel"].startswith("Local/") and leg["number"] and leg["status"]]
    answered = {_number(leg["number"]) for _, leg in phones_legs if leg["status"] == "ANSWER"}

    dialled: dict[str, set[str]] = {}
    for uid, leg in state["legs"].items():
        dialled.setdefault(leg["from"], set()).add(uid)
    rang = {_number(leg["number"]) for _, leg in state["legs"].items()
            if not leg["channel"].startswith("Local/") and is_extension(_number(leg["number"]))}
    group = bool(state.get("queue")) or len(rang) > 1 or any(len(d) > 1 for d in dialled.values())

    by_number: dict[str, tuple[str, dict, str]] = {}  # canonical -> (raw, event fields, result)
    for _uid, leg in phones_legs:
        key = _number(leg["number"])
        if key is None or key == caller_key:
            continue
        if not is_extension(key) and not from_extension:
            continue  # an outside number rang for an outside caller (a forward to a mobile): nobody's leg here
        result = _result(leg, bool(answered - {key}))
        if result is None:
            continue
        kept = by_number.get(key)
        if kept and _RESULT_RANK.index(kept[2]) <= _RESULT_RANK.index(result):
            continue
        by_number[key] = (leg["number"], leg, result)

    events = []
    for key, (raw, leg, result) in by_number.items():
        event = {"id": event_id(SLUG, state["linkedid"], raw), "type": "call.ended", "call_id": state["linkedid"],
                 "started_at": leg["begin"], "result": result}
        if is_extension(key) and from_extension:
            event.update({"direction": "internal", "from": caller_raw, "to": raw})
        elif is_extension(key):
            event.update({"direction": "external", "from": caller_raw, "to": raw,
                          "routing": "group" if group else "direct"})
            line = caller.get("exten") or ""
            if _number(line) and not is_extension(_number(line)):
                event["line"] = line
        else:
            event.update({"direction": "outgoing", "from": caller_raw, "to": raw})
        if leg.get("end"):
            event["ended_at"] = leg["end"]
            event["ring_seconds"] = _seconds(leg["begin"], leg["end"])
        events.append(event)
    return events


# --------------------------------------------------------------------------- voicemail

def mailbox_number(mailbox: str | None) -> str:
    """``102@default`` -> ``102`` (the mailbox of an extension)."""
    return (mailbox or "").partition("@")[0].strip()


def voicemail(event: Mapping[str, str], previous_new: int | None, at: datetime) -> dict | None:
    """A ``MessageWaiting`` that says a caller left a message, as ``voicemail.received``, else None.

    A new message is a MessageWaiting with the channel that left it (Asterisk
    16.24+/18.10+/19.2+ add the channel fields then), new messages waiting,
    and more of them than the mailbox had (``previous_new``, when known): the
    same event also follows the owner listening to the box, from their own
    channel, with fewer new messages.
    """
    if event.get("Event") != "MessageWaiting":
        return None
    owner = mailbox_number(event.get("Mailbox"))
    linkedid = event.get("Linkedid") or ""
    try:
        new = int(event.get("New") or 0)
    except ValueError:
        return None
    if not owner or not _number(owner) or not linkedid or new <= 0:
        return None
    if previous_new is not None and new <= previous_new:
        return None
    caller = _caller(event.get("CallerIDNum"))
    if caller and _number(caller) == _number(owner):
        return None  # the owner at their own mailbox
    return {"id": event_id(SLUG, linkedid, owner, "vm"), "type": "voicemail.received", "call_id": linkedid,
            "started_at": _iso(at), "from": caller, "to": owner}


def new_messages(event: Mapping[str, str]) -> tuple[str, int] | None:
    """(mailbox, new count) of a MessageWaiting, for the plumbing to remember."""
    if event.get("Event") != "MessageWaiting" or not event.get("Mailbox"):
        return None
    try:
        return event["Mailbox"], int(event.get("New") or 0)
    except ValueError:
        return None


# --------------------------------------------------------------------------- the registry entry

VENDOR = Vendor(
    slug=SLUG, title="Asterisk / FreePBX",
    credentials=(Credential(URL_KEY, "Адрес AMI", hint="ami://пользователь:пароль@pbx.local:5038",
                            pattern=URL_PATTERN, pattern_message=URL_MESSAGE),),
    endpoint=False, connects=True,
    setup=("Приложение само подключается к АТС по AMI (Asterisk Manager Interface). В FreePBX: «Settings → "
           "Asterisk Manager Users» → «Add Manager»: имя и пароль, «Permit» — адрес этого сервера, права "
           "чтения call, agent, reporting (или all); на Asterisk без FreePBX — раздел пользователя в "
           "manager.conf. Затем вставьте сюда ami://имя:пароль@адрес-АТС:5038 и нажмите «Проверить подключение»."),
    limits=("Звонок, который начался и закончился, пока связи с AMI не было, приложение не увидит. "
            "Переадресация после тайм-аута звонит нескольким адресатам и считается звонком группе. "
            "Внутренний номер от внешнего отличается длиной: 1–6 цифр — внутренний. Голосовая почта — по событию "
            "MessageWaiting с каналом звонящего (Asterisk 16.24, 18.10, 19.2 и новее); длительности и записи "
            "сообщения AMI не сообщает."),
    settings_template="settings/_pbx_asterisk.html",
)
