"""MegaFon ВАТС «API для CRM» and compatible PBXes (notifier.pbx.vats): the
requests the PBX posts, their translation table, the token, the caller-name
reply, and the whole path to email and Telegram.

Sources of the fixtures (the vendor's field lists, and requests as the PBX
sends them, from public integrations of the API):
- G: github.com/maxim-oleinik/gravitel, tests/CallbackFactoryTest.php (requests
  of Gravitel's API, "doc version: 2017-08") and src/Callback/HistoryCmd.php,
  EventCmd.php, ContactCmd.php (the vendor's field and status descriptions,
  e.g. ``STATUS_missed = 'missed'``, ``start`` "YYYYmmddTHHMMSSZ");
- B: github.com/brandup-online/megafon-ats (a MegaFon ВАТС library whose README
  points at api.megapbx.ru/#/docs/crmapi/v1/general),
  test/MegafonATS.Tests/MegafonAtsControllerTests.cs (history, event, contact
  and rating requests), src/MegafonATS.Webhooks/Models/Enums.cs (the history
  statuses with the vendor's words: Success, Missed, Cancel «звонок отменен»,
  Busy, NotAvailable, NotAllowed, NotFound) and
  src/MegafonATS.Webhooks/Models/Responses/ContactResponse.cs (the contact
  reply ``{"contact_name", "responsible"}``);
- S: github.com/skytecs/MegafonPbxApiClient, Skytecs.MegafonPbxApiClient/
  CallbackMiddleware.cs (the contact reply, ``{}`` for an unknown caller, 401
  for a wrong ``crm_token``) and HistoryRequest.cs (``start`` parsed as
  ``yyyyMMddTHHmmssZ``, ``status`` compared case-insensitively);
- M: github.com/mikopbx/ModuleMegafonPbx, Lib/RestAPI/EventController.php
  (form or JSON bodies, ``{}`` answered for a caller not found).
Where a case changes a copied request (another status, another number), the
comment says which documented field was changed.
"""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.core.events import parse_event
from notifier.pbx import vats
from notifier.pbx.base import BadAuth, BadBody, NoDirectory, VendorRequest

from . import factories
from .notify_setup import notified_employee, run_jobs
from .pbx_helpers import any_text, assert_answer_ok, configure_pbx, field_values, fuzz, pbx_status, stored_events

TOKEN = "crm-token-0123456789"
URL = "/api/v1/pbx/vats"

# G, tests/CallbackFactoryTest.php::testHistory (crm_token "1" there; ours here)
GRAVITEL_HISTORY_OUT = {
    "callid": "28187487-edcf-4d23-9f95-c8591fbd9936", "cmd": "history", "crm_token": TOKEN, "duration": "0",
    "ext": "701", "phone": "79161234567", "start": "20170905T150852Z", "status": "Busy", "type": "out",
    "user": "admin", "z-flag": "0",
}
# G, tests/CallbackFactoryTest.php::testEvent
GRAVITEL_EVENT = {
    "callid": "28187487-edcf-4d23-9f95-c8591fbd9936", "cmd": "event", "crm_token": TOKEN,
    "phone": "74951234567", "type": "CANCELLED", "user": "admin", "z-flag": "0",
}
# G, tests/CallbackFactoryTest.php::testContact
GRAVITEL_CONTACT = {"callid": "28187487-edcf-4d23-9f95-c8591fbd9936", "cmd": "contact", "phone": "79161234567",
                    "crm_token": TOKEN}
# B, MegafonAtsControllerTests.cs::TestController_HistoryCommand ("start" is UtcNow there; a fixed time here)
MEGAFON_HISTORY = {
    "cmd": "history", "type": "in", "user": "user", "ext": "510", "groupRealName": "groupname",
    "telnum": "999999", "phone": "88005553535", "diversion": "100500", "start": "20261125T071503Z",
    "duration": "50", "callid": "43294397431", "link": "https://test.ru/test.mp3", "rating": "4",
    "crm_token": TOKEN, "status": "Success",
}
# B, MegafonAtsControllerTests.cs::TestController_EventCommand
MEGAFON_EVENT = {
    "cmd": "event", "type": "INCOMING", "phone": "88005553535", "diversion": "100500", "user": "user",
    "groupRealName": "groupname", "ext": "510", "telnum": "999999", "direction": "in", "callid": "43294397431",
    "status": "Success", "crm_token": TOKEN,
}
# B, MegafonAtsControllerTests.cs::TestController_RatingCommand
MEGAFON_RATING = {"cmd": "rating", "callid": "43294397431", "rating": "4", "phone": "88005553535", "user": "user",
                  "ext": "510", "crm_token": TOKEN}

# The employee of the end-to-end test: MEGAFON_HISTORY's fields with a direct call (no department),
# status "missed" as G's HistoryCmd.php spells it, a Moscow mobile caller, extension 102.
MISSED = dict(MEGAFON_HISTORY, groupRealName="", status="missed", phone="79023855270", ext="102",
              user="ivanov", telnum="", diversion="74951234567", duration="30", link="")
MISSED_ID = "vats:43294397431:ivanov"
CALL = {"id": MISSED_ID, "type": "call.ended", "call_id": "vats:43294397431", "started_at": "2026-11-25T07:15:03Z",
        "ended_at": "2026-11-25T07:15:33Z"}
EXTERNAL = {**CALL, "from": "79023855270", "to": "102", "direction": "external", "line": "74951234567"}


def translate(form: dict, directory=None, **request):
    return vats.translate(VendorRequest(form=form, **request), directory or NoDirectory())


# --------------------------------------------------------------------------- translation table

CASES = [
    # (name, history fields, the event expected, or None for no event)
    ("direct ring not answered: the vendor's «missed» is a missed call", MISSED,
     {**EXTERNAL, "routing": "direct", "result": "no_answer", "ring_seconds": 30}),
    ("«Missed» as MegaFon's newer docs spell it (B, Enums.cs)", dict(MISSED, status="Missed"),
     {**EXTERNAL, "routing": "direct", "result": "no_answer", "ring_seconds": 30}),
    # A caller who hung up while it rang: the API gives no reason for «missed», so it is the row above;
    # where the PBX says «Cancel» (B: «звонок отменен»), the caller gave up: nobody is notified.
    ("caller hung up while ringing: Cancel", dict(MISSED, status="Cancel"),
     {**EXTERNAL, "routing": "direct", "result": "caller_hangup", "ring_seconds": 30}),
    ("ring through a department, not answered: a group ring", dict(MISSED, groupRealName="Продажи"),
     {**EXTERNAL, "routing": "group", "result": "no_answer", "ring_seconds": 30}),
    ("department call answered (B's request as is): the one who answered, a group ring", MEGAFON_HISTORY,
     {**CALL, "id": "vats:43294397431:user", "ended_at": "2026-11-25T07:15:53Z", "from": "88005553535",
      "to": "510", "direction": "external", "routing": "group", "line": "100500", "result": "answered"}),
    ("internal call unanswered: phone is an extension (fields as documented; the API may never send one)",
     dict(MISSED, phone="101"),
     {**CALL, "from": "101", "to": "102", "direction": "internal", "result": "no_answer", "ring_seconds": 30}),
    ("hidden caller", dict(MISSED, phone=""),
     {**EXTERNAL, "from": "", "routing": "direct", "result": "no_answer", "ring_seconds": 30}),
    ("recording link on a missed call: no voicemail in this API, the call only", dict(MISSED, link=MEGAFON_HISTORY["link"]),
     {**EXTERNAL, "routing": "direct", "result": "no_answer", "ring_seconds": 30}),
    ("no extension: the direct number (telnum) is the employee", dict(MISSED, ext="", telnum="+7 902 111-22-33"),
     {**EXTERNAL, "to": "+7 902 111-22-33", "routing": "direct", "result": "no_answer", "ring_seconds": 30}),
    ("outgoing, busy (G's request as is)", GRAVITEL_HISTORY_OUT,
     {"id": "vats:28187487-edcf-4d23-9f95-c8591fbd9936:admin", "type": "call.ended",
      "call_id": "vats:28187487-edcf-4d23-9f95-c8591fbd9936", "started_at": "2017-09-05T15:08:52Z",
      "ended_at": "2017-09-05T15:08:52Z", "from": "701", "to": "79161234567", "direction": "outgoing",
      "result": "busy", "ring_seconds": 0}),
    ("outgoing, answered", dict(GRAVITEL_HISTORY_OUT, status="Success", duration="75"),
     {"id": "vats:28187487-edcf-4d23-9f95-c8591fbd9936:admin", "type": "call.ended",
      "call_id": "vats:28187487-edcf-4d23-9f95-c8591fbd9936", "started_at": "2017-09-05T15:08:52Z",
      "ended_at": "2017-09-05T15:10:07Z", "from": "701", "to": "79161234567", "direction": "outgoing",
      "result": "answered"}),
    ("outgoing, NotAvailable", dict(GRAVITEL_HISTORY_OUT, status="NotAvailable", duration=""),
     {"id": "vats:28187487-edcf-4d23-9f95-c8591fbd9936:admin", "type": "call.ended",
      "call_id": "vats:28187487-edcf-4d23-9f95-c8591fbd9936", "started_at": "2017-09-05T15:08:52Z",
      "from": "701", "to": "79161234567", "direction": "outgoing", "result": "unavailable"}),
    ("outgoing, NotAllowed", dict(GRAVITEL_HISTORY_OUT, status="NotAllowed", duration=""),
     {"id": "vats:28187487-edcf-4d23-9f95-c8591fbd9936:admin", "type": "call.ended",
      "call_id": "vats:28187487-edcf-4d23-9f95-c8591fbd9936", "started_at": "2017-09-05T15:08:52Z",
      "from": "701", "to": "79161234567", "direction": "outgoing", "result": "failed"}),
    ("outgoing, NotFound", dict(GRAVITEL_HISTORY_OUT, status="NotFound", duration="x"),
     {"id": "vats:28187487-edcf-4d23-9f95-c8591fbd9936:admin", "type": "call.ended",
      "call_id": "vats:28187487-edcf-4d23-9f95-c8591fbd9936", "started_at": "2017-09-05T15:08:52Z",
      "from": "701", "to": "79161234567", "direction": "outgoing", "result": "failed"}),
    ("outgoing to a hidden number: no event", dict(GRAVITEL_HISTORY_OUT, phone=""), None),
    ("an employee with no number at all (login only): no event", dict(MISSED, ext="", telnum=""), None),
]


@pytest.mark.parametrize("form, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_history_translation(form, expected):
    translation = translate(form)
    if expected is None:
        assert translation.events == [] and translation.note
        return
    [event] = translation.events
    assert event == expected
    parse_event(event)  # what the intake will check


def test_a_group_ring_answered_by_someone_else_notifies_the_others_of_nothing():
    """A department call answered by 510: history names 510 only (answered, group); the colleague
    whose phone also rang gets an ``event`` CANCELLED notice, which the vendor itself says may be a
    caller who gave up or a colleague who answered (G, EventCmd.php): no event for them."""
    [answered] = translate(MEGAFON_HISTORY).events
    assert (answered["to"], answered["routing"], answered["result"]) == ("510", "group", "answered")
    other = translate(dict(GRAVITEL_EVENT, callid=MEGAFON_HISTORY["callid"], ext="511", user="petrov"))
    assert other.events == [] and other.reply is None and "CANCELLED" in other.note


def test_redelivery_translates_to_the_same_id():
    first = translate(MISSED).events[0]["id"]
    assert translate(dict(MISSED)).events[0]["id"] == first == MISSED_ID
    assert translate(dict(MISSED, user="petrov", ext="103")).events[0]["id"] != first
    assert translate(dict(MISSED, callid="43294397432")).events[0]["id"] != first


@pytest.mark.parametrize("form, note", [
    (GRAVITEL_EVENT, "event CANCELLED"),
    (MEGAFON_EVENT, "event INCOMING"),
    (dict(MEGAFON_EVENT, type="ACCEPTED"), "event ACCEPTED"),
    (MEGAFON_RATING, "rating"),
])
def test_event_and_rating_are_acknowledged_without_events(form, note):
    translation = translate(form)
    assert translation.events == [] and translation.reply is None and note in translation.note


@pytest.mark.parametrize("change, message", [
    ({"cmd": "call"}, "cmd"),
    ({"cmd": None}, "cmd"),
    ({"callid": None}, "callid"),
    ({"type": "missed"}, "type"),
    ({"status": "Voicemail"}, "status"),
    ({"status": None}, "status"),
    ({"start": None}, "start"),
    ({"start": "2026-11-25T07:15:03Z"}, "start"),
    ({"start": "20260230T071503Z"}, "start"),
    ({"start": "18000101T000000Z"}, "start"),
    ({"phone": None}, "phone"),
    ({"user": None, "ext": None}, "user"),
    ({"phone": "7" * 300}, "phone"),
    ({"ext": "10\x002"}, "ext"),
])
def test_bad_history_is_refused_with_the_field_named(change, message):
    form = {k: v for k, v in {**MISSED, **change}.items() if v is not None}
    with pytest.raises(BadBody) as err:
        translate(form)
    assert message in err.value.message


def test_a_json_body_and_a_get_query_are_read_as_the_form():
    """M: the PBX's examples also show JSON; the docs allow GET for history."""
    import json
    as_json = translate({}, content_type="application/json", body=json.dumps({**MISSED, "duration": 30}).encode())
    assert as_json.events == translate(MISSED).events
    as_query = vats.translate(VendorRequest(method="GET", query=MISSED), NoDirectory())
    assert as_query.events == translate(MISSED).events


# --------------------------------------------------------------------------- the token

CREDS = {"VATS_CRM_TOKEN": TOKEN}


def test_token_accepted_from_the_form_json_or_query():
    vats.verify(VendorRequest(form=MISSED), CREDS)
    vats.verify(VendorRequest(query={"crm_token": TOKEN}), CREDS)
    vats.verify(VendorRequest(content_type="application/json", body=b'{"crm_token": "%s"}' % TOKEN.encode()), CREDS)


@pytest.mark.parametrize("form, message", [
    ({"cmd": "history"}, "нет crm_token"),
    ({"crm_token": ""}, "нет crm_token"),
    ({"crm_token": TOKEN[:-1]}, "неверный crm_token"),
    ({"crm_token": TOKEN + "x"}, "неверный crm_token"),
    ({"crm_token": "1"}, "неверный crm_token"),  # G's example token
])
def test_token_refused(form, message):
    with pytest.raises(BadAuth) as err:
        vats.verify(VendorRequest(form=form), CREDS)
    assert message in err.value.message


# --------------------------------------------------------------------------- contact


class Notebook:
    def find_contact(self, number):
        return None

    def contact_name(self, number):
        return "ООО Ромашка" if number == "79161234567" else None


def test_contact_answers_the_notebook_name_as_the_vendor_documents():
    reply = translate(GRAVITEL_CONTACT, Notebook()).reply
    assert (reply.status, reply.content_type) == (200, "application/json")
    assert reply.body == '{"contact_name": "ООО Ромашка"}'
    unknown = translate(dict(GRAVITEL_CONTACT, phone="74950000000"), Notebook()).reply
    assert unknown.body == "{}"  # S, M: an empty object is "not found" to the PBX
    assert translate(dict(GRAVITEL_CONTACT, phone=""), Notebook()).reply.body == "{}"


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture
def vats_on(app):
    configure_pbx(app, VATS_CRM_TOKEN=TOKEN)


def post(client, form: dict, path: str = URL):
    """As the PBX posts: application/x-www-form-urlencoded."""
    return client.post(path, data=urlencode(form), content_type="application/x-www-form-urlencoded")


def test_a_missed_call_is_accepted_then_a_duplicate(app, client, vats_on):
    resp = post(client, MISSED)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    assert resp.get_json() == {"events": [{"id": MISSED_ID, "status": "accepted"}]}
    again = post(client, MISSED)
    assert again.status_code == 200
    assert again.get_json() == {"events": [{"id": MISSED_ID, "status": "duplicate"}]}
    [(eid, source, raw, payload)] = stored_events(app)
    assert (eid, source, payload["result"]) == (MISSED_ID, "vats", "no_answer")
    assert raw["path"] == URL and raw["form"]["crm_token"] == "***" and raw["form"]["status"] == "missed"
    assert TOKEN not in str(raw)
    assert pbx_status(app, "vats").counts == {"accepted": 1, "duplicate": 1}


def test_the_recording_link_is_kept_with_the_raw_request(app, client, vats_on):
    assert post(client, dict(MISSED, link=MEGAFON_HISTORY["link"])).status_code == 202
    [(_, _, raw, payload)] = stored_events(app)
    assert raw["form"]["link"] == "https://test.ru/test.mp3" and payload["type"] == "call.ended"


def test_bad_token_is_401_counted_and_stores_nothing(app, client, vats_on):
    resp = post(client, dict(MISSED, crm_token="wrong-token"))
    assert resp.status_code == 401 and resp.get_json() == {"error": "неверный crm_token"}
    assert post(client, {k: v for k, v in MISSED.items() if k != "crm_token"}).status_code == 401
    assert stored_events(app) == []
    st_ = pbx_status(app, "vats")
    assert st_.counts == {"bad_auth": 2} and st_.last_outcome == "bad_auth"


def test_without_a_token_configured_the_pbx_is_refused(app, client):
    assert post(client, MISSED).status_code == 403
    assert pbx_status(app, "vats").counts == {"not_configured": 1}


def test_the_environment_token_wins(app, client, vats_on):
    app.config["VATS_CRM_TOKEN"] = "env-token-0123456789"
    assert post(client, MISSED).status_code == 401
    assert post(client, dict(MISSED, crm_token="env-token-0123456789")).status_code == 202


def test_a_bad_history_is_400_counted_and_stores_nothing(app, client, vats_on):
    resp = post(client, dict(MISSED, status="Voicemail"))
    assert resp.status_code == 400 and "status" in resp.get_json()["error"]
    assert stored_events(app) == [] and pbx_status(app, "vats").counts == {"bad_body": 1}


def test_event_and_rating_get_200_and_store_nothing(app, client, vats_on):
    for form in (MEGAFON_EVENT, GRAVITEL_EVENT, MEGAFON_RATING):
        resp = post(client, form)
        assert resp.status_code == 200 and resp.get_json() == {"events": []}
    assert stored_events(app) == []
    st_ = pbx_status(app, "vats")
    assert st_.counts == {"accepted": 3} and "rating" in st_.last_detail


def test_contact_answers_a_vip_clients_name_from_the_notebook(app, client, vats_on):
    factories.contact("ООО Ромашка", "+7 916 123-45-67", vip=True)
    resp = post(client, GRAVITEL_CONTACT)  # the PBX sends 79161234567: any notation matches
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.get_json() == {"contact_name": "ООО Ромашка"}
    assert post(client, dict(GRAVITEL_CONTACT, phone="74950000000")).get_json() == {}
    assert post(client, dict(GRAVITEL_CONTACT, crm_token="wrong-token")).status_code == 401  # not for strangers
    assert stored_events(app) == []


# --------------------------------------------------------------------------- end to end


def test_vats_missed_call_notifies_by_email_and_telegram_exactly_once(app, client, smtp_server, fake_telegram,
                                                                       vats_on):
    notified_employee(smtp_server, fake_telegram)
    factories.contact("ООО Ромашка", "+7 902 385-52-70", vip=True)
    assert post(client, MISSED).status_code == 202
    assert post(client, MISSED).status_code == 200  # the PBX retries: nothing twice
    later = dict(MISSED, callid="43294397432", start="20261125T080000Z")
    assert post(client, dict(later, groupRealName="Продажи")).status_code == 202  # a department ring: nobody
    assert post(client, dict(later, callid="43294397433", status="Cancel")).status_code == 202  # gave up: nobody
    callback = dict(GRAVITEL_HISTORY_OUT, ext="102", phone="79023855270", status="Success", start="20261125T081000Z")
    assert post(client, callback).status_code == 202  # the employee calls back: nobody notified
    run_jobs(app)
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == "Пропущенный звонок от +7 902 385-52-70, ООО Ромашка, VIP"
    assert mail.rcpt_tos == ["ivanov@example.com"]
    [message] = fake_telegram.wait_for(1)
    assert message["chat_id"] == 5551234 and "ООО Ромашка" in message["text"]
    run_jobs(app)
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1
    assert len(stored_events(app)) == 4


# --------------------------------------------------------------------------- fuzz

FIELDS = ["cmd", "type", "status", "callid", "user", "ext", "telnum", "phone", "groupRealName", "diversion",
          "start", "duration", "link", "crm_token", "rating", "extra"]
start_like = st.one_of(st.from_regex(r"\A\d{8}T\d{6}Z?\Z"), st.just("20261125T071503Z"))
values = st.one_of(field_values, start_like, st.sampled_from(
    ["history", "event", "contact", "rating", "in", "out", "missed", "Cancel", "Success", "NotFound", ""]))


@fuzz(300)
@given(changes=st.dictionaries(st.sampled_from(FIELDS), values, max_size=6),
       base=st.sampled_from([MISSED, MEGAFON_HISTORY, GRAVITEL_HISTORY_OUT, GRAVITEL_EVENT, GRAVITEL_CONTACT,
                             MEGAFON_RATING]),
       raw=st.binary(max_size=200), kind=st.sampled_from(["form", "json", "raw", "query"]), keep_token=st.booleans(),
       junk=any_text)
def test_odd_vats_requests_never_5xx(app, client, vats_on, changes, base, raw, kind, keep_token, junk):
    form = {**base, **changes}
    if keep_token:
        form["crm_token"] = TOKEN
    if kind == "form":
        resp = post(client, form)
    elif kind == "json":
        resp = client.post(URL, json={**form, "extra": [junk, 1]})
    elif kind == "query":
        resp = client.get(URL, query_string=form)
    else:
        resp = client.post(URL, data=raw, content_type="application/x-www-form-urlencoded")
    assert_answer_ok(app, resp, "vats")
