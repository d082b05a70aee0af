"""AMI event sequences of whole calls, for the Asterisk adapter's tests.

Fields of each event as docs.asterisk.org documents them (Asterisk 16-22,
"AMI Events"):
- Newchannel, Hangup (Cause, Cause-txt): https://docs.asterisk.org/Asterisk_20_Documentation/API_Documentation/AMI_Events/Newchannel/
  and .../AMI_Events/Hangup/ (the channel snapshot of main/manager_channels.c:
  Channel, ChannelState, ChannelStateDesc, CallerIDNum, CallerIDName,
  ConnectedLineNum, ConnectedLineName, Language, AccountCode, Context, Exten,
  Priority, Uniqueid, Linkedid);
- DialBegin (the caller's snapshot, the Dest-prefixed snapshot, DialString),
  DialEnd (the same and DialStatus ANSWER/BUSY/CANCEL/CHANUNAVAIL/CONGESTION/NOANSWER...):
  https://docs.asterisk.org/Asterisk_20_Documentation/API_Documentation/AMI_Events/DialEnd/
- AgentCalled, AgentRingNoAnswer, AgentConnect, QueueCallerJoin, QueueCallerAbandon
  (caller snapshot, Dest snapshot of the member channel, Queue, Interface, MemberName):
  https://docs.asterisk.org/Asterisk_20_Documentation/API_Documentation/AMI_Events/AgentCalled/
- MessageWaiting (channel snapshot when a channel left the message, Mailbox, Waiting, New, Old):
  https://docs.asterisk.org/Asterisk_20_Documentation/API_Documentation/AMI_Events/MessageWaiting

The order of events within a call follows real captures of Asterisk's AMI
published by VoIPGRID (github.com/VoIPGRID/cacofonisk, tests/fixtures/simple/
ab_a_cancel.json, ab_callgroup.json, ab_callgroup_no_answer.json,
tests/fixtures/queue/queue_a_cancel.json): a phone's Newchannel before the
DialBegin that rings it, DialEnd before the Hangup of the channel it ended,
the caller's channel hung up last, a CANCEL DialEnd repeated for one leg.
Channel names are FreePBX's (PJSIP endpoints named by extension, Local
channels ``Local/<ext>@from-queue`` for queue members).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ch:
    """One channel: name, Uniqueid, caller ID, and where in the dialplan it is."""

    name: str
    uid: str
    cid: str = "<unknown>"
    exten: str = "s"
    context: str = "from-internal"
    linkedid: str = ""


def snapshot(ch: Ch, linkedid: str, prefix: str = "", state: str = "Ring") -> dict[str, str]:
    codes = {"Down": "0", "Ring": "4", "Ringing": "5", "Up": "6"}
    return {f"{prefix}Channel": ch.name, f"{prefix}ChannelState": codes[state], f"{prefix}ChannelStateDesc": state,
            f"{prefix}CallerIDNum": ch.cid, f"{prefix}CallerIDName": "<unknown>",
            f"{prefix}ConnectedLineNum": "<unknown>", f"{prefix}ConnectedLineName": "<unknown>",
            f"{prefix}Language": "ru", f"{prefix}AccountCode": "", f"{prefix}Context": ch.context,
            f"{prefix}Exten": ch.exten, f"{prefix}Priority": "1", f"{prefix}Uniqueid": ch.uid,
            f"{prefix}Linkedid": ch.linkedid or linkedid}


class Call:
    """Builds the AMI events of one call (Linkedid = the first channel's Uniqueid)."""

    def __init__(self, caller: Ch):
        self.caller = caller
        self.linkedid = caller.uid

    def newchannel(self, ch: Ch) -> dict:
        return {"Event": "Newchannel", "Privilege": "call,all", **snapshot(ch, self.linkedid, state="Down")}

    def dial_begin(self, src: Ch, dest: Ch, dialstring: str) -> dict:
        return {"Event": "DialBegin", "Privilege": "call,all", **snapshot(src, self.linkedid),
                **snapshot(dest, self.linkedid, "Dest", "Down"), "DialString": dialstring}

    def dial_end(self, src: Ch, dest: Ch, status: str) -> dict:
        return {"Event": "DialEnd", "Privilege": "call,all", **snapshot(src, self.linkedid),
                **snapshot(dest, self.linkedid, "Dest", "Up" if status == "ANSWER" else "Ringing"),
                "DialStatus": status}

    def hangup(self, ch: Ch, cause: str = "16", text: str = "Normal Clearing") -> dict:
        return {"Event": "Hangup", "Privilege": "call,all", **snapshot(ch, self.linkedid, state="Up"),
                "Cause": cause, "Cause-txt": text}

    def bridge_enter(self, ch: Ch, bridge: str) -> dict:
        return {"Event": "BridgeEnter", "Privilege": "call,all", "BridgeUniqueid": bridge, "BridgeType": "basic",
                "BridgeTechnology": "simple_bridge", "BridgeCreator": "<unknown>", "BridgeName": "<unknown>",
                "BridgeNumChannels": "1", "BridgeVideoSourceMode": "none",
                **snapshot(ch, self.linkedid, state="Up")}

    def queue(self, name: str, ch: Ch, queue: str, member: Ch | None = None, **fields) -> dict:
        event = {"Event": name, "Privilege": "agent,all", **snapshot(ch, self.linkedid, state="Up"),
                 "Queue": queue, **fields}
        if member is not None:
            event.update(snapshot(member, self.linkedid, "Dest", "Ringing"))
        return event


def message_waiting(mailbox: str, new: int, old: int = 0, ch: Ch | None = None, linkedid: str = "") -> dict:
    event = {"Event": "MessageWaiting", "Privilege": "call,all"}
    if ch is not None:
        event.update(snapshot(ch, linkedid or ch.uid, state="Up"))
    event.update({"Mailbox": mailbox, "Waiting": "1" if new or old else "0", "New": str(new), "Old": str(old)})
    return event


# --------------------------------------------------------------------------- the calls

TRUNK_IN = Ch("PJSIP/rt-trunk-00000012", "1764054903.101", "+79023855270", "74951234567", "from-pstn")


def direct_no_answer(caller: Ch = TRUNK_IN, status: str = "NOANSWER") -> tuple[Call, list[tuple[float, dict]]]:
    """An outside caller rings extension 102 directly (a DID routed to it) and the ring times out."""
    call = Call(caller)
    phone = Ch("PJSIP/102-00000013", "1764054903.102", "102", "74951234567")
    cause = {"NOANSWER": ("19", "User alerting, no answer"), "BUSY": ("17", "User busy"),
             "CANCEL": ("16", "Normal Clearing"), "CHANUNAVAIL": ("20", "Subscriber absent"),
             "ANSWER": ("16", "Normal Clearing")}[status]
    events = [(0, call.newchannel(caller)), (0, call.newchannel(phone)),
              (0, call.dial_begin(caller, phone, "102")), (30, call.dial_end(caller, phone, status)),
              (30, call.hangup(phone, *cause)), (31, call.hangup(caller, *cause))]
    return call, events


def internal_no_answer() -> tuple[Call, list[tuple[float, dict]]]:
    """Extension 101 calls 102, nobody answers before the ring timeout."""
    a = Ch("PJSIP/101-00000020", "1764054903.200", "101", "102", "from-internal")
    b = Ch("PJSIP/102-00000021", "1764054903.201", "102", "102", "from-internal")
    call = Call(a)
    return call, [(0, call.newchannel(a)), (0, call.newchannel(b)), (0, call.dial_begin(a, b, "102")),
                  (20, call.dial_end(a, b, "NOANSWER")), (20, call.hangup(b, "19", "User alerting, no answer")),
                  (21, call.hangup(a, "19", "User alerting, no answer"))]


def group_answered_elsewhere() -> tuple[Call, list[tuple[float, dict]]]:
    """A ring group (600) rings 101 and 102 together; 101 answers; 102's leg is cancelled."""
    caller = Ch("PJSIP/rt-trunk-00000030", "1764054903.300", "+79023855270", "74951234568", "from-pstn")
    p101 = Ch("PJSIP/101-00000031", "1764054903.301", "101", "600")
    p102 = Ch("PJSIP/102-00000032", "1764054903.302", "102", "600")
    call = Call(caller)
    return call, [
        (0, call.newchannel(caller)),
        (1, call.newchannel(p101)), (1, call.newchannel(p102)),
        (1, call.dial_begin(caller, p101, "101")), (1, call.dial_begin(caller, p102, "102")),
        (9, call.dial_end(caller, p101, "ANSWER")),
        (9, call.dial_end(caller, p102, "CANCEL")),
        (9, call.hangup(p102, "26", "Answered elsewhere")),
        (9, call.bridge_enter(p101, "b-300")), (9, call.bridge_enter(caller, "b-300")),
        (70, call.hangup(p101)), (70, call.hangup(caller)),
    ]


def caller_hangs_up_in_group() -> tuple[Call, list[tuple[float, dict]]]:
    """The same group; the caller gives up after 6 s: both legs CANCEL, nobody answered."""
    caller = Ch("PJSIP/rt-trunk-00000040", "1764054903.400", "+79023855270", "74951234568", "from-pstn")
    p101 = Ch("PJSIP/101-00000041", "1764054903.401", "101", "600")
    p102 = Ch("PJSIP/102-00000042", "1764054903.402", "102", "600")
    call = Call(caller)
    return call, [
        (0, call.newchannel(caller)),
        (0, call.dial_begin(caller, p101, "101")), (0, call.dial_begin(caller, p102, "102")),
        (6, call.dial_end(caller, p101, "CANCEL")), (6, call.dial_end(caller, p102, "CANCEL")),
        (6, call.hangup(p101)), (6, call.hangup(p102)), (6, call.hangup(caller)),
    ]


def queue_answered_by_colleague() -> tuple[Call, list[tuple[float, dict]]]:
    """Queue 800 (FreePBX members Local/<ext>@from-queue/n) rings 102 and 103; 103 answers."""
    caller = Ch("PJSIP/rt-trunk-00000050", "1764054903.500", "89023855270", "74951234569", "from-pstn")
    l102a = Ch("Local/102@from-queue-00000007;1", "1764054903.501", "102", "800", "from-queue")
    l102b = Ch("Local/102@from-queue-00000007;2", "1764054903.502", "+79023855270", "102", "from-queue")
    l103a = Ch("Local/103@from-queue-00000008;1", "1764054903.503", "103", "800", "from-queue")
    l103b = Ch("Local/103@from-queue-00000008;2", "1764054903.504", "+79023855270", "103", "from-queue")
    p102 = Ch("PJSIP/102-00000051", "1764054903.505", "102", "102")
    p103 = Ch("PJSIP/103-00000052", "1764054903.506", "103", "103")
    call = Call(caller)
    q = "800"
    return call, [
        (0, call.newchannel(caller)),
        (0, call.queue("QueueCallerJoin", caller, q, Position="1", Count="1")),
        (1, call.newchannel(l102a)), (1, call.newchannel(l102b)),
        (1, call.newchannel(l103a)), (1, call.newchannel(l103b)),
        (1, call.queue("AgentCalled", caller, q, l102a, Interface="Local/102@from-queue/n", MemberName="Иванов")),
        (1, call.dial_begin(caller, l102a, "Local/102@from-queue/n")),
        (1, call.queue("AgentCalled", caller, q, l103a, Interface="Local/103@from-queue/n", MemberName="Петров")),
        (1, call.dial_begin(caller, l103a, "Local/103@from-queue/n")),
        (1, call.newchannel(p102)), (1, call.newchannel(p103)),
        (1, call.dial_begin(l102b, p102, "102")), (1, call.dial_begin(l103b, p103, "103")),
        (12, call.dial_end(l103b, p103, "ANSWER")),
        (12, call.dial_end(caller, l103a, "ANSWER")),
        (12, call.queue("AgentConnect", caller, q, l103a, Interface="Local/103@from-queue/n", MemberName="Петров",
                        HoldTime="12", RingTime="11")),
        (12, call.dial_end(caller, l102a, "CANCEL")),
        (12, call.dial_end(caller, l102a, "CANCEL")),  # repeated, as in queue_a_cancel.json
        (12, call.dial_end(l102b, p102, "CANCEL")),
        (12, call.hangup(l102a, "26", "Answered elsewhere")), (12, call.hangup(p102, "26", "Answered elsewhere")),
        (12, call.hangup(l102b, "26", "Answered elsewhere")),
        (90, call.hangup(p103)), (90, call.hangup(l103b)), (90, call.hangup(l103a)), (90, call.hangup(caller)),
    ]


def outgoing_answered() -> tuple[Call, list[tuple[float, dict]]]:
    """Extension 102 calls 8 902 385-52-70 through the trunk. FreePBX's outbound caller ID
    (the company number) is on the employee's channel by the time it dials the trunk."""
    phone = Ch("PJSIP/102-00000060", "1764054903.600", "102", "89023855270", "from-internal")
    dialling = Ch(phone.name, phone.uid, "74951234567", "s", "macro-dialout-trunk")
    trunk = Ch("PJSIP/rt-trunk-00000061", "1764054903.601", "89023855270", "89023855270", "from-trunk")
    call = Call(phone)
    return call, [
        (0, call.newchannel(phone)),
        (1, call.newchannel(trunk)), (1, call.dial_begin(dialling, trunk, "89023855270@rt-trunk")),
        (8, call.dial_end(dialling, trunk, "ANSWER")),
        (8, call.bridge_enter(trunk, "b-600")), (8, call.bridge_enter(dialling, "b-600")),
        (95, call.hangup(trunk)), (95, call.hangup(dialling)),
    ]


# Real capture, VoIPGRID/cacofonisk tests/fixtures/simple/ab_a_cancel.json (Asterisk 13, their
# platform: SIP peers named by account, calls routed through a Local channel), the fields this
# adapter reads: 201 calls 202 and hangs up while it rings.
CACOFONISK_AB_A_CANCEL = [
    {"Event": "Newchannel", "Channel": "SIP/150010001-00000002", "Uniqueid": "195176c06ab8-1529936141.21",
     "Linkedid": "195176c06ab8-1529936141.21", "CallerIDNum": "150010001", "Exten": "202", "Context": "osvpi_account"},
    {"Event": "Newchannel", "Channel": "Local/ID730151@osvpi_route_phoneaccount-00000001;1",
     "Uniqueid": "195176c06ab8-1529936141.24", "Linkedid": "195176c06ab8-1529936141.21", "CallerIDNum": "<unknown>",
     "Exten": "ID730151", "Context": "osvpi_route_phoneaccount"},
    {"Event": "Newchannel", "Channel": "Local/ID730151@osvpi_route_phoneaccount-00000001;2",
     "Uniqueid": "195176c06ab8-1529936141.25", "Linkedid": "195176c06ab8-1529936141.21", "CallerIDNum": "<unknown>",
     "Exten": "ID730151", "Context": "osvpi_route_phoneaccount"},
    {"Event": "DialBegin", "Channel": "SIP/150010001-00000002", "Uniqueid": "195176c06ab8-1529936141.21",
     "Linkedid": "195176c06ab8-1529936141.21", "CallerIDNum": "201", "Exten": "202",
     "Context": "osvpi_account_call_int", "DestChannel": "Local/ID730151@osvpi_route_phoneaccount-00000001;1",
     "DestUniqueid": "195176c06ab8-1529936141.24", "DestCallerIDNum": "202", "DestExten": "202"},
    {"Event": "Newchannel", "Channel": "SIP/150010002-00000003", "Uniqueid": "195176c06ab8-1529936141.29",
     "Linkedid": "195176c06ab8-1529936141.21", "CallerIDNum": "<unknown>", "Exten": "s", "Context": "osvpi_account"},
    {"Event": "DialBegin", "Channel": "Local/ID730151@osvpi_route_phoneaccount-00000001;2",
     "Uniqueid": "195176c06ab8-1529936141.25", "Linkedid": "195176c06ab8-1529936141.21", "CallerIDNum": "201",
     "DestChannel": "SIP/150010002-00000003", "DestUniqueid": "195176c06ab8-1529936141.29",
     "DestCallerIDNum": "202", "DestExten": "202"},
    {"Event": "DialEnd", "Channel": "SIP/150010001-00000002", "Uniqueid": "195176c06ab8-1529936141.21",
     "Linkedid": "195176c06ab8-1529936141.21", "CallerIDNum": "201",
     "DestChannel": "Local/ID730151@osvpi_route_phoneaccount-00000001;1",
     "DestUniqueid": "195176c06ab8-1529936141.24", "DestCallerIDNum": "202", "DialStatus": "CANCEL"},
    {"Event": "DialEnd", "Channel": "Local/ID730151@osvpi_route_phoneaccount-00000001;2",
     "Uniqueid": "195176c06ab8-1529936141.25", "Linkedid": "195176c06ab8-1529936141.21", "CallerIDNum": "201",
     "DestChannel": "SIP/150010002-00000003", "DestUniqueid": "195176c06ab8-1529936141.29",
     "DestCallerIDNum": "202", "DialStatus": "CANCEL"},
    {"Event": "Hangup", "Channel": "Local/ID730151@osvpi_route_phoneaccount-00000001;1",
     "Uniqueid": "195176c06ab8-1529936141.24", "Linkedid": "195176c06ab8-1529936141.21", "Cause": "0"},
    {"Event": "Hangup", "Channel": "SIP/150010002-00000003", "Uniqueid": "195176c06ab8-1529936141.29",
     "Linkedid": "195176c06ab8-1529936141.21", "Cause": "16"},
    {"Event": "Hangup", "Channel": "Local/ID730151@osvpi_route_phoneaccount-00000001;2",
     "Uniqueid": "195176c06ab8-1529936141.25", "Linkedid": "195176c06ab8-1529936141.21", "Cause": "0"},
    {"Event": "Hangup", "Channel": "SIP/150010001-00000002", "Uniqueid": "195176c06ab8-1529936141.21",
     "Linkedid": "195176c06ab8-1529936141.21", "Cause": "0"},
]


def queue_ring_timed_out() -> tuple[Call, list[tuple[float, dict]]]:
    """Queue 800 rings 102 alone until the member's ring timeout (AgentRingNoAnswer, DialEnd
    NOANSWER), then the caller gives up waiting (QueueCallerAbandon, as in queue_a_cancel.json)."""
    caller = Ch("PJSIP/rt-trunk-00000090", "1764054903.900", "+79023855270", "74951234569", "from-pstn")
    l102a = Ch("Local/102@from-queue-00000009;1", "1764054903.901", "102", "800", "from-queue")
    l102b = Ch("Local/102@from-queue-00000009;2", "1764054903.902", "+79023855270", "102", "from-queue")
    p102 = Ch("PJSIP/102-00000091", "1764054903.903", "102", "102")
    call = Call(caller)
    q = "800"
    return call, [
        (0, call.newchannel(caller)),
        (0, call.queue("QueueCallerJoin", caller, q, Position="1", Count="1")),
        (1, call.newchannel(l102a)), (1, call.newchannel(l102b)),
        (1, call.queue("AgentCalled", caller, q, l102a, Interface="Local/102@from-queue/n", MemberName="Иванов")),
        (1, call.dial_begin(caller, l102a, "Local/102@from-queue/n")),
        (1, call.newchannel(p102)), (1, call.dial_begin(l102b, p102, "102")),
        (16, call.dial_end(l102b, p102, "NOANSWER")),
        (16, call.queue("AgentRingNoAnswer", caller, q, l102a, Interface="Local/102@from-queue/n",
                        MemberName="Иванов", RingTime="15")),
        (16, call.dial_end(caller, l102a, "NOANSWER")),
        (16, call.hangup(p102, "19", "User alerting, no answer")), (16, call.hangup(l102b)), (16, call.hangup(l102a)),
        (40, call.queue("QueueCallerAbandon", caller, q, Position="1", OriginalPosition="1", HoldTime="40")),
        (40, call.hangup(caller)),
    ]
