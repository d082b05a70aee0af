"""The contract's examples, signed and posted, processed by the real worker, then read
back through GET /api/v1/events/{id} and the «Журнал» page: each event says whom it
considered and why (events.md "The event log")."""
import pytest

from tests import factories
from tests.webhook_signing import example, post_event


@pytest.fixture
def received(app, client, run_worker):
    """Employee 102 is notified of missed calls in working hours only; one client is known."""
    factories.subscriber(rules=[{"types": ["missed_calls"], "time": {"mode": "work_hours"}}])
    factories.contact("ООО Ромашка", "+7 902 385 52 70")
    for name in ("missed-internal", "missed-external-direct", "caller-hung-up", "voicemail"):
        assert post_event(client, example(name)).status_code == 202
    run_worker()


@pytest.mark.parametrize("event_id, notified, reason, text", [
    ("evt-0001", True, "notify", "Событие подходит под правило сотрудника"),
    ("evt-0002", False, "outside_work_hours", "Вне рабочего времени"),  # a Saturday
    ("evt-0003", False, "caller_hangup", "Звонящий положил трубку до окончания ожидания"),
    ("evt-0004", False, "type_not_selected", "Правила абонента не включают этот тип уведомлений"),
])
def test_each_example_says_whom_it_considered_and_why(client, api_headers, received, event_id, notified, reason,
                                                      text):
    body = client.get(f"/api/v1/events/{event_id}", headers=api_headers).json
    assert body["payload"] == example({"evt-0001": "missed-internal", "evt-0002": "missed-external-direct",
                                       "evt-0003": "caller-hung-up", "evt-0004": "voicemail"}[event_id])
    [decision] = body["decisions"]
    assert decision["subscriber"]["name"] == "Иванов Иван"
    assert (decision["notified"], decision["reason"], decision["reason_text"]) == (notified, reason, text)
    if notified:
        assert {d["channel"] for d in body["deliveries"]} == {"email", "telegram"}
        email = next(d for d in body["deliveries"] if d["channel"] == "email")
        assert email["address"] == "ivanov@example.com"
        assert email["status"] in ("pending", "sent", "retrying", "failed", "skipped")
    else:
        assert body["deliveries"] == [] and body["status"] == "not_notified"


def test_the_page_shows_the_same(auth_client, received):
    html = auth_client.get("/log/").get_data(as_text=True)
    for text in ("Вне рабочего времени", "Звонящий положил трубку до окончания ожидания",
                 "Правила абонента не включают этот тип уведомлений", "ООО Ромашка", "+7 902 385-52-80"):
        assert text in html
    html = auth_client.get("/log/?status=not_notified&caller=89023855270").get_data(as_text=True)
    assert 'data-event="evt-0002"' in html and html.count("data-event=") == 1
