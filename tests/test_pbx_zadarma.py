"""Zadarma / Novofon (notifier.pbx.zadarma): the address check, the Signature,
the translation table of the PBX's notifications, the marks that tie a call's
requests together, and the whole path to email and Telegram.

Where the fixtures come from (the vendor's own SDKs and docs):
- fields of each notification and the text it signs: github.com/zadarma/user-api-v1,
  lib/Webhook/NotifyStart.php, NotifyInternal.php, NotifyAnswer.php, NotifyEnd.php,
  NotifyOutStart.php, NotifyOutEnd.php, NotifyRecord.php (``getSignatureString``),
  and the same files in github.com/novofon/user-api-v1;
- the Signature: user-api-v1 lib/Client.php ``encodeSignature`` =
  ``base64_encode(hash_hmac('sha1', text, secret))`` (hex digest), the PHP example
  of zadarma.com/ru/support/api/ (NOTIFY_START), and zadarma/user-api-typescript
  src/Webhook.ts (``digest('base64')``);
- ``zd_echo``: user-api-v1 examples/callinfo_callback.php (commit 8e1f5a4);
- the ``disposition`` values: NotifyEnd.php's doc comment;
- value forms: github.com/zadarma/openapi spec/v1/openapi.json (``pbx_call_id``
  ``in_ae6b03b3b0765d127ec0b739209346bbc4f0d52d``, numbers like ``442037691880``,
  times ``YYYY-MM-DD HH:MM:SS``), and user-api-v1 examples/pbx_record_request.php
  (commit 460fbd9) for a ``call_id`` with a recording, ``1458832388.1585217``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.core.events import parse_event
from notifier.extensions import db
from notifier.models import PbxCallMark
from notifier.pbx import registry, zadarma
from notifier.pbx.base import BadAuth, BadBody, NoDirectory, VendorRequest
from notifier.services import pbx_calls

from . import factories
from .notify_setup import linked_employee, notified_employee, run_jobs
from .pbx_helpers import assert_answer_ok, configure_pbx, field_values, fuzz, pbx_status, stored_events

SECRET = "8a8e91d214fb728889c7"
ZONE = "Europe/Moscow"
URL = "/api/v1/pbx/zadarma"
PBX_CALL = "in_ae6b03b3b0765d127ec0b739209346bbc4f0d52d"  # openapi.json, pbx_call_id example
CALLER = "79023855270"  # international format without "+", as openapi.json's numbers
LINE = "74951234567"  # the company's number the caller dialled (called_did)
START_TIME = "2026-11-25 10:15:03"  # openapi.json's time form; 10:15 Moscow, a working Wednesday
STARTED = "2026-11-25T10:15:03+03:00"
CALL = f"zadarma:{PBX_CALL}"

# NotifyStart.php: event, call_start, pbx_call_id, caller_id, called_did
START = {"event": "NOTIFY_START", "call_start": START_TIME, "pbx_call_id": PBX_CALL,
         "caller_id": CALLER, "called_did": LINE}
# NotifyInternal.php: NotifyStart's fields and internal, the extension it rings
INTERNAL_101 = {**START, "event": "NOTIFY_INTERNAL", "internal": "101"}
INTERNAL_102 = {**INTERNAL_101, "internal": "102"}
# NotifyAnswer.php: caller_id, destination, call_start, pbx_call_id, internal
ANSWER_102 = {"event": "NOTIFY_ANSWER", "caller_id": CALLER, "destination": "102", "call_start": START_TIME,
              "pbx_call_id": PBX_CALL, "internal": "102"}
# NotifyEnd.php: call_start, pbx_call_id, caller_id, called_did, internal, duration,
# disposition, status_code (Q.931), is_recorded, call_id_with_rec
END_NO_ANSWER = {"event": "NOTIFY_END", "call_start": START_TIME, "pbx_call_id": PBX_CALL, "caller_id": CALLER,
                 "called_did": LINE, "internal": "101", "duration": "0", "disposition": "no answer",
                 "status_code": "19", "is_recorded": "0", "call_id_with_rec": ""}
END_CANCEL = {**END_NO_ANSWER, "disposition": "cancel", "status_code": "16"}
END_ANSWERED = {**END_NO_ANSWER, "internal": "102", "duration": "67", "disposition": "answered",
                "status_code": "16", "is_recorded": "1", "call_id_with_rec": "1458832388.1585217"}
# NotifyOutStart.php / NotifyOutEnd.php: internal (the employee), destination (the number called)
OUT_PBX_CALL = "out_ae6b03b3b0765d127ec0b739209346bbc4f0d52d"
OUT_START = {"event": "NOTIFY_OUT_START", "call_start": START_TIME, "pbx_call_id": OUT_PBX_CALL,
             "internal": "101", "destination": CALLER}
OUT_END = {**OUT_START, "event": "NOTIFY_OUT_END", "caller_id": LINE, "duration": "42", "disposition": "answered",
           "status_code": "16", "is_recorded": "0", "call_id_with_rec": ""}
# NotifyRecord.php: call_id_with_rec, pbx_call_id
RECORD = {"event": "NOTIFY_RECORD", "call_id_with_rec": "1458832388.1585217", "pbx_call_id": PBX_CALL}


def sign(form: dict, secret: str = SECRET) -> str:
    """The Signature header as Client.php's encodeSignature makes it (base64 of the hex HMAC-SHA1)."""
    text = "".join(form.get(f, "") for f in zadarma.SIGNED[form["event"]])
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest().encode()).decode()


def request(form: dict, signature: str | None = None, **extra) -> VendorRequest:
    headers = {"signature": sign(form) if signature is None else signature}
    return VendorRequest(method="POST", form=form, content_type="application/x-www-form-urlencoded",
                         headers=headers, **extra)


# --------------------------------------------------------------------------- the Signature

def test_signature_is_base64_of_the_hex_hmac_sha1_of_the_signed_fields():
    text = CALLER + LINE + START_TIME  # caller_id . called_did . call_start (the docs' PHP example)
    hex_digest = hmac.new(SECRET.encode(), text.encode(), hashlib.sha1).hexdigest()
    assert zadarma.signatures(SECRET, text)[0] == base64.b64encode(hex_digest.encode()).decode() == sign(END_NO_ANSWER)
    assert len(base64.b64decode(sign(END_NO_ANSWER))) == 40  # 40 hex characters, not 20 raw bytes


@pytest.mark.parametrize("form, text", [
    (START, CALLER + LINE + START_TIME),
    (INTERNAL_101, CALLER + LINE + START_TIME),
    (ANSWER_102, CALLER + "102" + START_TIME),
    (END_NO_ANSWER, CALLER + LINE + START_TIME),
    (OUT_START, "101" + CALLER + START_TIME),
    (OUT_END, "101" + CALLER + START_TIME),
    (RECORD, PBX_CALL + "1458832388.1585217"),
])
def test_each_event_signs_the_fields_the_sdk_names(form, text):
    assert zadarma.signed_text(form, form["event"]) == text


@pytest.mark.parametrize("signature", [
    sign(END_NO_ANSWER),
    # the TypeScript SDK's form: base64 of the raw HMAC
    base64.b64encode(hmac.new(SECRET.encode(), (CALLER + LINE + START_TIME).encode(), hashlib.sha1).digest()).decode(),
])
def test_signature_accepted(signature):
    zadarma.verify(request(END_NO_ANSWER, signature), {"ZADARMA_API_SECRET": SECRET})


@pytest.mark.parametrize("form, signature, error, message", [
    (END_NO_ANSWER, "", BadAuth, "нет подписи"),
    (END_NO_ANSWER, sign(END_NO_ANSWER, "another-secret"), BadAuth, "неверная подпись"),
    ({**END_NO_ANSWER, "caller_id": "79990000000"}, sign(END_NO_ANSWER), BadAuth, "неверная подпись"),
    ({**END_NO_ANSWER, "call_start": "2026-11-25 10:15:04"}, sign(END_NO_ANSWER), BadAuth, "неверная подпись"),
    (END_NO_ANSWER, sign(END_NO_ANSWER) + "x", BadAuth, "неверная подпись"),
    (END_NO_ANSWER, "Ж" * 10, BadAuth, "неверная подпись"),
    ({**END_NO_ANSWER, "event": "NOTIFY_SOMETHING"}, "x", BadBody, "неизвестное событие"),
    ({k: v for k, v in END_NO_ANSWER.items() if k != "event"}, "x", BadBody, "нет поля event"),
])
def test_signature_refused(form, signature, error, message):
    with pytest.raises(error) as err:
        zadarma.verify(request(form, signature), {"ZADARMA_API_SECRET": SECRET})
    assert message in err.value.message


# --------------------------------------------------------------------------- the translation table

def leg(to: str, result: str, routing: str = "direct", **extra) -> dict:
    return {"id": f"{CALL}:{to}", "type": "call.ended", "call_id": CALL, "started_at": STARTED,
            "from": CALLER, "direction": "external", "routing": routing, "line": LINE, "to": to,
            "result": result, **extra}


def internal(to: str, result: str, caller: str) -> dict:
    return {"id": f"{CALL}:{to}", "type": "call.ended", "call_id": CALL, "started_at": STARTED,
            "from": caller, "direction": "internal", "to": to, "result": result}


OUT_CALL = f"zadarma:{OUT_PBX_CALL}"


def out(result: str, **extra) -> dict:
    return {"id": f"{OUT_CALL}:101", "type": "call.ended", "call_id": OUT_CALL, "started_at": STARTED,
            "from": "101", "to": CALLER, "direction": "outgoing", "result": result, **extra}


RANG_101 = frozenset({"rang:101"})
GROUP = frozenset({"rang:101", "rang:102"})

CASES = [
    # (name, the request, the marks its call left before, the events expected)
    ("direct ring timed out (no answer)", END_NO_ANSWER, RANG_101, [leg("101", "no_answer")]),
    ("direct ring, NOTIFY_INTERNAL not enabled: the extension of NOTIFY_END", END_NO_ANSWER, frozenset(),
     [leg("101", "no_answer")]),
    ("caller hung up while it rang (cancel)", END_CANCEL, RANG_101, [leg("101", "caller_hangup")]),
    ("group: 102 answered, 101 answered elsewhere", END_ANSWERED, GROUP | {"answered:102"},
     [leg("101", "answered_elsewhere", "group"), leg("102", "answered", "group")]),
    ("group answered, NOTIFY_ANSWER not enabled: NOTIFY_END's extension answered", END_ANSWERED, GROUP,
     [leg("101", "answered_elsewhere", "group"), leg("102", "answered", "group")]),
    ("group nobody answered: Zadarma's disposition for each (a group call notifies nobody)",
     {**END_NO_ANSWER, "internal": "102"}, GROUP, [leg("101", "no_answer", "group"), leg("102", "no_answer", "group")]),
    ("group, the caller gave up", END_CANCEL, GROUP,
     [leg("101", "caller_hangup", "group"), leg("102", "caller_hangup", "group")]),
    ("answered by a forward to a mobile: the extension that rang answered elsewhere",
     {**END_ANSWERED, "internal": ""}, RANG_101 | {"answered:+79161234567"},
     [leg("101", "answered_elsewhere")]),
    ("answered, nobody named: the one extension that rang", {**END_ANSWERED, "internal": ""}, RANG_101,
     [leg("101", "answered")]),
    ("busy", {**END_NO_ANSWER, "disposition": "busy", "status_code": "17"}, RANG_101, [leg("101", "busy")]),
    ("failed", {**END_NO_ANSWER, "disposition": "failed"}, RANG_101, [leg("101", "failed")]),
    ("out of money", {**END_NO_ANSWER, "disposition": "no money, no limit"}, RANG_101, [leg("101", "failed")]),
    ("a disposition Zadarma adds later: failed, never a missed call", {**END_NO_ANSWER, "disposition": "voicemail"},
     RANG_101, [leg("101", "failed")]),
    ("hidden caller", {**END_NO_ANSWER, "caller_id": ""}, RANG_101, [leg("101", "no_answer", **{"from": ""})]),
    ("a caller ID that is no number is shown as hidden", {**END_NO_ANSWER, "caller_id": "anonymous"}, RANG_101,
     [leg("101", "no_answer", **{"from": ""})]),
    ("a foreign number written without +", {**END_NO_ANSWER, "caller_id": "442037691880"}, RANG_101,
     [leg("101", "no_answer", **{"from": "+442037691880"})]),
    ("internal call unanswered (the caller is an extension)", {**END_NO_ANSWER, "caller_id": "100"}, RANG_101,
     [internal("101", "no_answer", "100")]),
    ("never reached an extension (ended in the IVR): no event", {**END_CANCEL, "internal": ""}, frozenset(), []),
    ("outgoing call answered", OUT_END, frozenset(), [out("answered")]),
    ("outgoing call not answered", {**OUT_END, "disposition": "no answer"}, frozenset(), [out("no_answer")]),
    ("outgoing call, the employee hung up first", {**OUT_END, "disposition": "cancel"}, frozenset(),
     [out("caller_hangup")]),
    ("outgoing to a foreign number", {**OUT_END, "destination": "442037691880"}, frozenset(),
     [out("answered", to="+442037691880")]),
    ("an extension calling an extension through NOTIFY_OUT_END: internal",
     {**OUT_END, "destination": "102", "disposition": "no answer"}, frozenset(),
     [{"id": f"{OUT_CALL}:102", "type": "call.ended", "call_id": OUT_CALL, "started_at": STARTED,
       "from": "101", "to": "102", "direction": "internal", "result": "no_answer"}]),
    ("outgoing without the employee's extension: no event", {**OUT_END, "internal": ""}, frozenset(), []),
    ("call start: no event", START, frozenset(), []),
    ("outgoing start: no event", OUT_START, frozenset(), []),
    ("a recording is no voicemail: no event", RECORD, frozenset(), []),
]


@pytest.mark.parametrize("form, marks, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_translation(form, marks, expected):
    decision = zadarma.decide(zadarma._fields(request(form)), marks, ZONE)
    assert decision.translation.events == expected
    assert decision.marks == ()
    if not expected:
        assert decision.translation.note
    for event in expected:
        parse_event(event)  # what the intake will check


@pytest.mark.parametrize("form, marks", [
    (INTERNAL_101, ("rang:101",)),
    (INTERNAL_102, ("rang:102",)),
    ({**INTERNAL_101, "internal": ""}, ()),
    (ANSWER_102, ("answered:102", "rang:102")),
    ({**ANSWER_102, "internal": "", "destination": "79161234567"}, ("answered:+79161234567",)),
])
def test_rings_and_answers_leave_marks_and_no_event(form, marks):
    decision = zadarma.decide(zadarma._fields(request(form)), frozenset(), ZONE)
    assert decision.translation.events == [] and decision.translation.note
    assert decision.marks == marks


class Memory(NoDirectory):
    """A directory that remembers marks (as services.pbx_calls does) and knows one client."""

    def __init__(self):
        self.marks: dict[tuple[str, str], set[str]] = {}

    def time_zone(self) -> str:
        return ZONE

    def call_marks(self, vendor, call_id):
        return frozenset(self.marks.get((vendor, call_id), ()))

    def mark_call(self, vendor, call_id, mark):
        self.marks.setdefault((vendor, call_id), set()).add(mark)

    def contact_name(self, number):
        return "ООО Ромашка" if number == "+79023855270" else None


def test_a_group_call_request_by_request_and_its_redelivery():
    memory = Memory()
    for form in (START, INTERNAL_101, INTERNAL_102, ANSWER_102, END_ANSWERED, RECORD):
        events = zadarma.translate(request(form), memory).events
    assert memory.marks == {("zadarma", CALL): {"rang:101", "rang:102", "answered:102"}}
    first = zadarma.translate(request(END_ANSWERED), memory).events
    assert [(e["id"], e["routing"], e["result"]) for e in first] == [
        (f"{CALL}:101", "group", "answered_elsewhere"), (f"{CALL}:102", "group", "answered")]
    assert zadarma.translate(request(END_ANSWERED), memory).events == first  # redelivery: the same ids
    assert events == []  # the recording made no event


def test_notify_start_answers_the_callers_name_from_the_notebook():
    known = zadarma.translate(request(START), Memory())
    assert known.reply.body == '{"caller_name": "ООО Ромашка"}' and known.reply.content_type == "application/json"
    unknown = zadarma.translate(request({**START, "caller_id": "79990000000"}), Memory())
    assert unknown.reply.body == "" and unknown.events == []


@pytest.mark.parametrize("raw, zone, expected", [
    ("2026-11-25 10:15:03", "Europe/Moscow", "2026-11-25T10:15:03+03:00"),
    ("2026-07-01 09:00:00", "Europe/Berlin", "2026-07-01T09:00:00+02:00"),
    ("2026-11-25 10:15:03", "No/Such_Zone", "2026-11-25T10:15:03+00:00"),
])
def test_call_start_is_local_time_of_the_company_zone(raw, zone, expected):
    assert zadarma.parse_call_start(raw, zone).isoformat() == expected


@pytest.mark.parametrize("change, message", [
    ({"call_start": "25.11.2026 10:15:03"}, "call_start"),
    ({"call_start": "2026-02-30 10:00:00"}, "call_start"),
    ({"call_start": "1970-01-01 00:00:00"}, "call_start"),
    ({"call_start": ""}, "call_start"),
    ({"pbx_call_id": ""}, "pbx_call_id"),
    ({"disposition": ""}, "disposition"),
    ({"internal": "Иванов"}, "internal"),
    ({"caller_id": "7" * 300}, "caller_id"),
    ({"caller_id": "7902\x003855270"}, "caller_id"),
])
def test_bad_bodies_are_refused_with_the_field_named(change, message):
    form = {**END_NO_ANSWER, **change}
    with pytest.raises(BadBody) as err:
        zadarma.decide(zadarma._fields(request(form)), frozenset(), ZONE)
    assert message in err.value.message


def test_a_get_without_zd_echo_is_a_bad_body():
    with pytest.raises(BadBody):
        zadarma.translate(VendorRequest(method="GET", query={"event": "NOTIFY_END"}), Memory())


def test_probe_echoes_zd_echo_on_get_only():
    assert zadarma.probe(VendorRequest(method="GET", query={"zd_echo": "bHd6eXo"})).body == "bHd6eXo"
    assert zadarma.probe(VendorRequest(method="POST", query={"zd_echo": "x"}, form=END_NO_ANSWER)) is None
    assert zadarma.probe(VendorRequest(method="GET")) is None


# --------------------------------------------------------------------------- over HTTP

@pytest.fixture
def zadarma_on(app):
    configure_pbx(app, ZADARMA_API_SECRET=SECRET)


def post(client, form: dict, secret: str = SECRET):
    return client.post(URL, data=form, headers={"Signature": sign(form, secret)})


def test_zd_echo_answers_the_text_even_before_the_secret_is_set(app, client):
    resp = client.get(URL, query_string={"zd_echo": "4f2a1c"})
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "4f2a1c"
    assert resp.mimetype == "text/plain"
    assert pbx_status(app, "zadarma").counts == {"check": 1}
    assert stored_events(app) == []


def test_a_group_call_over_http_is_stored_once_with_the_request(app, client, zadarma_on):
    for form in (START, INTERNAL_101, INTERNAL_102, ANSWER_102):
        assert post(client, form).status_code == 200
    resp = post(client, END_ANSWERED)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    assert resp.get_json() == {"events": [{"id": f"{CALL}:101", "status": "accepted"},
                                          {"id": f"{CALL}:102", "status": "accepted"}]}
    again = post(client, END_ANSWERED)
    assert again.status_code == 200 and {e["status"] for e in again.get_json()["events"]} == {"duplicate"}
    stored = stored_events(app)
    assert [(e[0], e[1], e[3]["result"], e[3]["routing"]) for e in stored] == [
        (f"{CALL}:101", "zadarma", "answered_elsewhere", "group"), (f"{CALL}:102", "zadarma", "answered", "group")]
    raw = stored[0][2]
    assert raw["form"]["event"] == "NOTIFY_END" and raw["form"]["disposition"] == "answered"
    assert SECRET not in str(raw)
    assert pbx_status(app, "zadarma").counts == {"accepted": 5, "duplicate": 1}


def test_bad_signature_is_401_counted_and_stores_nothing(app, client, zadarma_on):
    assert post(client, INTERNAL_101, secret="another-secret").status_code == 401
    resp = post(client, END_NO_ANSWER, secret="another-secret")
    assert resp.status_code == 401 and "подпись" in resp.get_json()["error"]
    unsigned = client.post(URL, data=END_NO_ANSWER)
    assert unsigned.status_code == 401
    assert stored_events(app) == []
    assert db.session.query(PbxCallMark).count() == 0
    st = pbx_status(app, "zadarma")
    assert st.counts == {"bad_auth": 3} and st.last_outcome == "bad_auth"


def test_without_a_secret_zadarma_is_refused(app, client):
    assert post(client, END_NO_ANSWER).status_code == 403
    assert pbx_status(app, "zadarma").counts == {"not_configured": 1}


def test_the_environment_secret_wins(app, client, zadarma_on):
    app.config["ZADARMA_API_SECRET"] = "env-secret-0123456789"
    assert post(client, END_NO_ANSWER).status_code == 401
    assert post(client, END_NO_ANSWER, secret="env-secret-0123456789").status_code == 202


def test_notify_start_gets_the_callers_name(app, client, zadarma_on):
    factories.contact("ООО Ромашка", "+7 902 385-52-70", vip=True)
    resp = post(client, START)
    assert resp.status_code == 200 and resp.get_json() == {"caller_name": "ООО Ромашка"}
    assert stored_events(app) == []


def test_old_marks_are_pruned_as_new_ones_are_noted(app):
    long_ago = datetime.now(timezone.utc) - pbx_calls.KEEP - timedelta(minutes=1)
    pbx_calls.note("zadarma", "zadarma:old", "rang:101", now=long_ago)
    pbx_calls.note("zadarma", "zadarma:new", "rang:101")
    pbx_calls.note("zadarma", "zadarma:new", "rang:101")  # a redelivery: still one mark
    assert pbx_calls.marks("zadarma", "zadarma:old") == frozenset()
    assert pbx_calls.marks("zadarma", "zadarma:new") == {"rang:101"}


def test_the_settings_card_offers_zadarma(auth_client):
    html = auth_client.get("/settings/").get_data(as_text=True)
    card = html[html.index('id="pbx-zadarma"'):]
    card = card[:card.index("</details>")]
    assert "скоро" not in card and "/api/v1/pbx/zadarma" in card and "NOTIFY_INTERNAL" in card
    assert "Что эта АТС не различает" in card
    assert registry.get("zadarma").available


# --------------------------------------------------------------------------- end to end

def test_zadarma_missed_call_notifies_by_email_and_telegram_exactly_once(app, client, zadarma_on, smtp_server,
                                                                          fake_telegram):
    notified_employee(smtp_server, fake_telegram, number="101")
    linked_employee(number="102", name="Петров Пётр", email="petrov@example.com", chat_id=5551235,
                    telegram="@petrov", rules=[{"types": ["missed_calls"]}])
    factories.contact("ООО Ромашка", "+7 902 385-52-70", vip=True)

    # a direct call to 101 that timed out: the one missed call
    for form in (START, INTERNAL_101, END_NO_ANSWER):
        assert post(client, form).status_code in (200, 202)
    assert post(client, END_NO_ANSWER).status_code == 200  # Zadarma repeats it: nothing twice
    # a group call to 101 and 102 nobody answered, and one the caller gave up on: nobody notified
    group = f"{PBX_CALL}g"
    for form in (INTERNAL_101, INTERNAL_102, {**END_NO_ANSWER, "internal": "102"}):
        assert post(client, {**form, "pbx_call_id": group}).status_code in (200, 202)
    gave_up = f"{PBX_CALL}c"
    for form in (INTERNAL_101, END_CANCEL):
        assert post(client, {**form, "pbx_call_id": gave_up}).status_code in (200, 202)
    # 101 calls the client back: stored as outgoing, notifies nobody
    assert post(client, OUT_END).status_code == 202

    run_jobs(app)
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == "Пропущенный звонок от +7 902 385-52-70, ООО Ромашка, VIP"
    assert mail.rcpt_tos == ["ivanov@example.com"]
    [message] = fake_telegram.wait_for(1)
    assert message["chat_id"] == 5551234 and "ООО Ромашка" in message["text"]
    run_jobs(app)
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1
    assert len(stored_events(app)) == 1 + 2 + 1 + 1


# --------------------------------------------------------------------------- fuzz

FIELDS = ["event", "call_start", "pbx_call_id", "caller_id", "called_did", "internal", "destination", "duration",
          "disposition", "status_code", "is_recorded", "call_id_with_rec", "extra"]
odd_values = st.one_of(field_values, st.sampled_from([*zadarma.SIGNED, *zadarma.RESULTS, "answered", START_TIME,
                                                      PBX_CALL, "", "101", "102"]))


@fuzz(300)
@given(base=st.sampled_from([START, INTERNAL_101, ANSWER_102, END_NO_ANSWER, END_ANSWERED, OUT_START, OUT_END,
                             RECORD]),
       changes=st.dictionaries(st.sampled_from(FIELDS), odd_values, max_size=4),
       how=st.sampled_from(["signed"] * 5 + ["unsigned", "get", "raw"]), raw=st.binary(max_size=120))
def test_odd_zadarma_requests_never_5xx(app, client, zadarma_on, base, changes, how, raw):
    """Mostly signed as Zadarma signs, so odd values reach the translation itself."""
    form = {**base, **changes}
    signed = how == "signed" and form.get("event") in zadarma.SIGNED
    headers = {"Signature": sign(form) if signed else "x"}
    if how == "get":
        resp = client.get(URL, query_string=form, headers=headers)
    elif how == "raw":
        resp = client.post(URL, data=raw, content_type="application/x-www-form-urlencoded", headers=headers)
    else:
        resp = client.post(URL, data=form, headers=headers)
    assert_answer_ok(app, resp, "zadarma")


def test_a_database_failure_under_the_adapter_is_a_503_the_pbx_may_retry(app, client, zadarma_on, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def down(*args):
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(pbx_calls, "marks", down)
    resp = post(client, END_NO_ANSWER)
    assert resp.status_code == 503 and stored_events(app) == []
    assert "error" not in pbx_status(app, "zadarma").counts
