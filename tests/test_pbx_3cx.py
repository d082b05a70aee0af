"""3CX (notifier.pbx.threecx): the template the admin uploads, the requests 3CX
makes from it (tests/threecx_engine.py plays 3CX's template engine), their
translation table, the token, and the whole path to email and Telegram.

Sources of the fixtures:
- the template format, Basic authentication, PostValues, Passes and method
  invocation: https://www.3cx.com/docs/server-side-crm-template-xml-description/
- the [CallType] values Inbound / Missed / Outbound / Notanswered as 3CX sends
  them: github.com/modestcrab/3CX-Pipedrive-Integration, pipedrive.xml
  (scenario ReportCall-AddActivity, ``If="[CallType]==Notanswered"`` ...), whose
  texts say what each is: "Missed Call", "Unanswered Outgoing Call"...
- the other variables ([Number], [Agent], [QueueExtension], [Duration] as
  hh:mm:ss, [CallStartTimeUTC], [CallEstablishedTimeUTC], [CallEndTimeUTC]):
  the same 3CX page, section "Call Journaling".
"""
from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.core.events import parse_event
from notifier.pbx import threecx
from notifier.pbx.base import BadAuth, BadBody, DirectoryContact, VendorRequest

from . import threecx_engine
from .factories import contact as add_contact
from .notify_setup import notified_employee, run_jobs
from .pbx_helpers import (
    any_text,
    assert_answer_ok,
    configure_pbx,
    field_values,
    fuzz,
    pbx_status,
    stored_events,
    time_like,
)

TOKEN = "tok-3cx-0123456789abcdef"
ADDRESS = "http://localhost/api/v1/pbx/3cx"
TEMPLATE = threecx.template(ADDRESS, {"THREECX_TOKEN": TOKEN})
START = datetime(2026, 11, 25, 7, 15, 3)  # 10:15:03 in Moscow, a working Wednesday
RANG = datetime(2026, 11, 25, 7, 15, 33)
TALK = datetime(2026, 11, 25, 7, 16, 40)


def call(**variables) -> dict:
    """The JSON body 3CX posts for ReportCall with these call variables."""
    return threecx_engine.report_call(TEMPLATE, **variables).body


MISSED = dict(CallType="Missed", CallDirection="Inbound", Number="+79023855270", Name="", Agent="102",
              AgentFirstName="Иван", AgentLastName="Иванов", Duration="00:00:00",
              CallStartTimeUTC=START, CallEndTimeUTC=RANG)
INBOUND = dict(MISSED, CallType="Inbound", Duration="00:01:07", CallEstablishedTimeUTC=RANG, CallEndTimeUTC=TALK)
OUTBOUND = dict(INBOUND, CallType="Outbound", CallDirection="Outbound")
NOT_ANSWERED = dict(MISSED, CallType="Notanswered", CallDirection="Outbound")

EVENT_ID = "3cx:in:20261125T071503Z:79023855270:102"
BASE = {"id": EVENT_ID, "type": "call.ended", "call_id": "3cx:in:20261125T071503Z:79023855270",
        "started_at": "2026-11-25T07:15:03Z"}
OUT_IDS = {"id": "3cx:out:20261125T071503Z:79023855270:102", "call_id": "3cx:out:20261125T071503Z:79023855270"}


# --------------------------------------------------------------------------- the template


def test_template_is_xml_with_both_scenarios_address_and_token():
    root = ET.fromstring(TEMPLATE.encode())
    assert root.tag == "Crm" and root.get("Name")
    assert [s.get("Id") or "" for s in root.iter("Scenario")] == ["", "ReportCall"]
    params = {p.get("Name"): p.get("Default") for p in root.iter("Parameter")}
    assert params["Address"] == ADDRESS and params["Token"] == TOKEN
    assert root.find("Authentication").get("Type") == "Basic"


def test_template_escapes_what_it_is_given():
    xml = threecx.template('https://x.example/a?b=1&c="2"', {"THREECX_TOKEN": 'a<b>&"c'})
    params = {p.get("Name"): p.get("Default") for p in ET.fromstring(xml.encode()).iter("Parameter")}
    assert params["Address"] == 'https://x.example/a?b=1&c="2"' and params["Token"] == 'a<b>&"c'


def test_the_engine_double_makes_the_documented_request():
    req = threecx_engine.report_call(TEMPLATE, **MISSED)
    assert (req.method, req.url) == ("POST", ADDRESS + "/call")
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(f"3cx:{TOKEN}".encode()).decode()
    assert req.body == {
        "token": TOKEN, "call_type": "Missed", "call_direction": "Inbound", "number": "+79023855270",
        "name": "", "agent": "102", "agent_name": "Иван Иванов", "queue": "[QueueExtension]",
        "duration": "00:00:00", "started_at": "2026-11-25T07:15:03Z",
        "answered_at": '[[CallEstablishedTimeUTC].ToString("yyyy-MM-ddTHH:mm:ssZ")]',
        "ended_at": "2026-11-25T07:15:33Z",
    }


# --------------------------------------------------------------------------- translation table

CASES = [
    # (name, 3CX call variables, the event expected, or None for no event)
    ("missed: direct ring, not answered (3CX cannot tell a caller who gave up from a timeout)", MISSED,
     {**BASE, "from": "+79023855270", "to": "102", "direction": "external", "routing": "direct",
      "result": "no_answer", "ended_at": "2026-11-25T07:15:33Z", "ring_seconds": 30}),
    ("missed in a queue: a group ring, notifies nobody", dict(MISSED, QueueExtension="800"),
     {**BASE, "from": "+79023855270", "to": "102", "direction": "external", "routing": "group",
      "result": "no_answer", "ended_at": "2026-11-25T07:15:33Z", "ring_seconds": 30}),
    ("missed in a queue nobody was offered: the queue", dict(MISSED, Agent="", QueueExtension="800"),
     {**BASE, "id": "3cx:in:20261125T071503Z:79023855270:800", "from": "+79023855270", "to": "800",
      "direction": "external", "routing": "group", "result": "no_answer", "ended_at": "2026-11-25T07:15:33Z",
      "ring_seconds": 30}),
    ("missed from a hidden number", dict(MISSED, Number=""),
     {**BASE, "id": "3cx:in:20261125T071503Z:hidden:102", "call_id": "3cx:in:20261125T071503Z:hidden",
      "from": "", "to": "102", "direction": "external", "routing": "direct", "result": "no_answer",
      "ended_at": "2026-11-25T07:15:33Z", "ring_seconds": 30}),
    ("missed, odd caller id kept as hidden", dict(MISSED, Number="sip:anon@trunk"),
     {**BASE, "id": "3cx:in:20261125T071503Z:hidden:102", "call_id": "3cx:in:20261125T071503Z:hidden",
      "from": "", "to": "102", "direction": "external", "routing": "direct", "result": "no_answer",
      "ended_at": "2026-11-25T07:15:33Z", "ring_seconds": 30}),
    ("inbound answered", INBOUND,
     {**BASE, "from": "+79023855270", "to": "102", "direction": "external", "routing": "direct",
      "result": "answered", "ended_at": "2026-11-25T07:16:40Z", "ring_seconds": 30}),
    ("outbound answered", OUTBOUND,
     {**BASE, **OUT_IDS, "from": "102", "to": "+79023855270", "direction": "outgoing", "result": "answered",
      "ended_at": "2026-11-25T07:16:40Z", "ring_seconds": 30}),
    ("outbound not answered", NOT_ANSWERED,
     {**BASE, **OUT_IDS, "from": "102", "to": "+79023855270", "direction": "outgoing", "result": "no_answer",
      "ended_at": "2026-11-25T07:15:33Z", "ring_seconds": 30}),
    ("unset times as 3CX renders DateTime.MinValue", dict(MISSED, CallEstablishedTimeUTC=datetime(1, 1, 1),
                                                           CallEndTimeUTC=datetime(1, 1, 1)),
     {**BASE, "from": "+79023855270", "to": "102", "direction": "external", "routing": "direct",
      "result": "no_answer"}),
    ("missed with no extension (ended in the IVR): no event", dict(MISSED, Agent=""), None),
    ("outbound to a hidden number: no event", dict(OUTBOUND, Number=""), None),
]


@pytest.mark.parametrize("variables, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_translation(variables, expected):
    translation = threecx.translate_call(call(**variables))
    if expected is None:
        assert translation.events == [] and translation.note
        return
    [event] = translation.events
    assert event == expected
    parse_event(event)  # what the intake will check


def test_redelivery_translates_to_the_same_id():
    first = threecx.translate_call(call(**MISSED)).events[0]["id"]
    assert threecx.translate_call(call(**MISSED)).events[0]["id"] == first == EVENT_ID
    assert threecx.translate_call(call(**dict(MISSED, Agent="103"))).events[0]["id"] != first


@pytest.mark.parametrize("change, message", [
    ({"call_type": "Voicemail"}, "call_type"),
    ({"call_type": None}, "call_type"),
    ({"started_at": ""}, "started_at"),
    ({"started_at": "25.11.2026 10:15:03"}, "started_at"),
    ({"started_at": "2026-02-30T10:00:00Z"}, "started_at"),
    ({"started_at": "0001-01-01T00:00:00Z"}, "started_at"),
    ({"started_at": 1764054903}, "started_at"),
    ({"agent": "Иванов"}, "agent"),
    ({"agent": ["102"]}, "agent"),
    ({"number": "x" * 500}, "number"),
    ({"number": "+7902\x003855270"}, "number"),
])
def test_bad_bodies_are_refused_with_the_field_named(change, message):
    with pytest.raises(BadBody) as err:
        threecx.translate_call({**call(**MISSED), **change})
    assert message in err.value.message


@pytest.mark.parametrize("body", [[], "Missed", None, 5])
def test_not_an_object_is_a_bad_body(body):
    with pytest.raises(BadBody):
        threecx.translate_call(body)


@pytest.mark.parametrize("raw, seconds", [("00:01:07", 67), ("1:02:03", 3723), ("02:03", 123), ("67", 67),
                                          ("", None), ("soon", None)])
def test_duration(raw, seconds):
    assert threecx.parse_duration(raw) == seconds


# --------------------------------------------------------------------------- the token


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


CREDS = {"THREECX_TOKEN": TOKEN}


@pytest.mark.parametrize("request_kwargs", [
    {"headers": {"authorization": basic("3cx", TOKEN)}},
    {"headers": {"authorization": basic("anyone", TOKEN)}},
    {"query": {"token": TOKEN}},
    {"content_type": "application/json", "body": b'{"token": "%s"}' % TOKEN.encode()},
    {"headers": {"authorization": basic("3cx", "wrong")}, "query": {"token": TOKEN}},  # one good one is enough
])
def test_token_accepted(request_kwargs):
    threecx.verify(VendorRequest(**request_kwargs), CREDS)


@pytest.mark.parametrize("request_kwargs, message", [
    ({}, "нет токена"),
    ({"headers": {"authorization": basic("3cx", "wrong")}}, "неверный токен"),
    ({"headers": {"authorization": "Basic !!!"}}, "нет токена"),
    ({"headers": {"authorization": "Bearer " + TOKEN}}, "нет токена"),
    ({"query": {"token": TOKEN[:-1]}}, "неверный токен"),
    ({"content_type": "application/json", "body": b'{"token": 5}'}, "нет токена"),
    ({"content_type": "application/json", "body": b"not json"}, "нет токена"),
])
def test_token_refused(request_kwargs, message):
    with pytest.raises(BadAuth) as err:
        threecx.verify(VendorRequest(**request_kwargs), CREDS)
    assert message in err.value.message


# --------------------------------------------------------------------------- lookup


class Notebook:
    def find_contact(self, number):
        if number in ("+79023855270", "89023855270"):
            return DirectoryContact(7, "ООО Ромашка", True, "http://localhost/contacts/7/edit")
        return None

    def contact_name(self, number):
        found = self.find_contact(number)
        return found.name if found else None


def test_lookup_answers_the_notebook_name():
    req = threecx_engine.lookup(TEMPLATE, "+79023855270")
    assert req.method == "GET" and req.url == ADDRESS + "/lookup?number=%2B79023855270"
    reply = threecx.translate(VendorRequest(method="GET", path="lookup", query={"number": "+79023855270"}),
                              Notebook()).reply
    assert reply.status == 200 and reply.content_type == "application/json"
    assert '"name": "ООО Ромашка"' in reply.body and '"id": 7' in reply.body
    unknown = threecx.translate(VendorRequest(method="GET", path="lookup", query={"number": "101"}), Notebook())
    assert unknown.reply.body == '{"contact": null}'


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture
def threecx_on(app):
    configure_pbx(app, THREECX_TOKEN=TOKEN)


def post(client, **variables):
    req = threecx_engine.report_call(TEMPLATE, **variables)
    return client.post(req.path, json=req.body, headers=req.headers)


def test_a_missed_call_is_accepted_then_a_duplicate(app, client, threecx_on):
    resp = post(client, **MISSED)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    assert resp.get_json() == {"events": [{"id": EVENT_ID, "status": "accepted"}]}
    again = post(client, **MISSED)
    assert again.status_code == 200
    assert again.get_json() == {"events": [{"id": EVENT_ID, "status": "duplicate"}]}
    [(eid, source, raw, payload)] = stored_events(app)
    assert (eid, source, payload["result"]) == (EVENT_ID, "3cx", "no_answer")
    assert raw["path"] == "/api/v1/pbx/3cx/call" and raw["json"]["token"] == "***"
    assert raw["json"]["call_type"] == "Missed" and TOKEN not in str(raw)
    assert pbx_status(app, "3cx").counts == {"accepted": 1, "duplicate": 1}


def test_bad_token_is_401_counted_and_stores_nothing(app, client, threecx_on):
    wrong = threecx.template(ADDRESS, {"THREECX_TOKEN": "another-token-0123456789"})
    req = threecx_engine.report_call(wrong, **MISSED)
    resp = client.post(req.path, json=req.body, headers=req.headers)
    assert resp.status_code == 401 and resp.get_json() == {"error": "неверный токен 3CX"}
    assert stored_events(app) == []
    st = pbx_status(app, "3cx")
    assert st.counts == {"bad_auth": 1} and st.last_outcome == "bad_auth"


def test_without_a_token_configured_3cx_is_refused(app, client):
    assert post(client, **MISSED).status_code == 403
    assert pbx_status(app, "3cx").counts == {"not_configured": 1}


def test_the_environment_token_wins(app, client, threecx_on):
    app.config["THREECX_TOKEN"] = "env-token-0123456789abc"
    assert post(client, **MISSED).status_code == 401
    fresh = threecx.template(ADDRESS, {"THREECX_TOKEN": "env-token-0123456789abc"})
    req = threecx_engine.report_call(fresh, **MISSED)
    assert client.post(req.path, json=req.body, headers=req.headers).status_code == 202


def test_lookup_over_http(app, client, threecx_on):
    contact_id = add_contact("ООО Ромашка", "8 902 385-52-70", vip=True).id
    req = threecx_engine.lookup(TEMPLATE, "+79023855270")
    resp = client.get(req.path, headers=req.headers)
    assert resp.status_code == 200
    assert resp.get_json() == {"contact": {"id": contact_id, "name": "ООО Ромашка",
                                           "url": f"http://localhost/contacts/{contact_id}/edit"}}
    assert client.get(req.path).status_code == 401  # the notebook is not for strangers
    assert stored_events(app) == []


def test_a_get_to_the_journal_address_is_a_bad_body(client, threecx_on):
    resp = client.get("/api/v1/pbx/3cx/call", headers={"Authorization": basic("3cx", TOKEN)})
    assert resp.status_code == 400


# --------------------------------------------------------------------------- end to end


@pytest.fixture
def employee(app, smtp_server, fake_telegram, threecx_on):
    """Employee 102 with a rule for missed calls; email and Telegram configured."""
    return notified_employee(smtp_server, fake_telegram).id


def test_3cx_missed_call_notifies_by_email_and_telegram_exactly_once(app, client, employee, smtp_server,
                                                                      fake_telegram):
    add_contact("ООО Ромашка", "+7 902 385-52-70", vip=True)
    assert post(client, **MISSED).status_code == 202
    assert post(client, **MISSED).status_code == 200  # 3CX retries: nothing twice
    assert post(client, **dict(MISSED, QueueExtension="800", CallStartTimeUTC=RANG)).status_code == 202  # group
    assert post(client, **OUTBOUND).status_code == 202  # the employee calls back: nobody notified
    run_jobs(app)
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == "Пропущенный звонок от +7 902 385-52-70, ООО Ромашка, VIP"
    assert mail.rcpt_tos == ["ivanov@example.com"]
    [message] = fake_telegram.wait_for(1)
    assert message["chat_id"] == 5551234 and "ООО Ромашка" in message["text"]
    run_jobs(app)
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1


# --------------------------------------------------------------------------- fuzz

CALL_FIELDS = ["call_type", "number", "agent", "queue", "duration", "started_at", "answered_at", "ended_at",
               "name", "token", "extra"]
field_or_types = st.one_of(field_values, st.sampled_from(list(threecx.CALL_TYPES)), st.none(), st.integers(),
                           st.lists(st.integers(), max_size=2), time_like)


@fuzz(300)
@given(changes=st.dictionaries(st.sampled_from(CALL_FIELDS), field_or_types, max_size=5),
       base=st.sampled_from([MISSED, INBOUND, OUTBOUND, NOT_ANSWERED]), raw=st.binary(max_size=200),
       as_json=st.booleans(), path=st.sampled_from(["call", "", "lookup", "x"]), number=any_text)
def test_odd_3cx_requests_never_5xx(app, client, threecx_on, changes, base, raw, as_json, path, number):
    req = threecx_engine.report_call(TEMPLATE, **base)
    auth = req.headers["Authorization"]
    url = f"/api/v1/pbx/3cx/{path}".rstrip("/")
    if path == "lookup":
        resp = client.get(url, query_string={"number": number}, headers={"Authorization": auth})
    elif as_json:
        resp = client.post(url, json={**req.body, **changes}, headers={"Authorization": auth})
    else:
        resp = client.post(url, data=raw, content_type="application/json", headers={"Authorization": auth})
    assert_answer_ok(app, resp, "3cx")
