"""GET /api/v1/events and /api/v1/events/{id}: the event log in JSON (events.md "The event log")."""
import pytest

from notifier.extensions import db
from tests import event_log_data as data
from tests import factories


@pytest.fixture
def logged(app):
    """Two employees, a client, and three events in different states."""
    ivanov = factories.subscriber("102", "Иванов Иван", "ivanov@example.com")
    petrova = factories.subscriber("103", "Петрова Анна", email=None)
    factories.contact("ООО Ромашка", "+7 902 385 52 70")
    data.event("evt-0001", caller="101", decisions=[(ivanov, True, "notify")], deliveries=[
        {"subscriber": ivanov, "channel": "email", "status": "sent", "attempts": 1},
        {"subscriber": ivanov, "channel": "telegram", "status": "skipped", "address": "",
         "last_error": "Telegram не подключён"}])
    data.event("evt-0002", caller="+7 902 385-52-70", to="103", decisions=[(petrova, False, "outside_work_hours")])
    data.event("evt/0003 with spaces", caller="", result="caller_hangup",
               decisions=[(ivanov, False, "caller_hangup")])
    db.session.commit()
    return {"ivanov": ivanov.id, "petrova": petrova.id}


def test_401_without_or_with_a_wrong_token(client, logged):
    assert client.get("/api/v1/events").status_code == 401
    assert client.get("/api/v1/events/evt-0001").status_code == 401
    resp = client.get("/api/v1/events/evt-0001", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401 and "error" in resp.json


def test_one_event_per_contract(client, api_headers, logged):
    resp = client.get("/api/v1/events/evt-0001", headers=api_headers)
    assert resp.status_code == 200
    body = resp.json
    assert body["id"] == "evt-0001" and isinstance(body["pk"], int)
    assert body["payload"]["from"] == "101" and body["payload"]["to"] == "102"
    assert body["status"] == "notified" and body["status_text"] == "Уведомление отправлено"
    assert body["decisions"] == [{"subscriber": {"id": logged["ivanov"], "number": "102", "name": "Иванов Иван"},
                                  "notified": True, "reason": "notify",
                                  "reason_text": "Событие подходит под правило сотрудника"}]
    email, telegram = body["deliveries"]
    assert {k: email[k] for k in ("channel", "address", "status", "attempts", "last_error")} == {
        "channel": "email", "address": "ivanov@example.com", "status": "sent", "attempts": 1, "last_error": None}
    assert {k: telegram[k] for k in ("channel", "status", "last_error")} == {
        "channel": "telegram", "status": "skipped", "last_error": "Telegram не подключён"}
    assert email["sent_at"] and telegram["sent_at"] is None


def test_why_not_notified(client, api_headers, logged):
    body = client.get("/api/v1/events/evt-0002", headers=api_headers).json
    assert body["decisions"][0]["notified"] is False
    assert body["decisions"][0]["reason"] == "outside_work_hours"
    assert body["decisions"][0]["reason_text"] == "Вне рабочего времени"
    assert body["deliveries"] == [] and body["status"] == "not_notified"
    assert body["caller"]["client"] == "ООО Ромашка"


def test_ids_with_slashes_and_spaces_and_unknown_ids(client, api_headers, logged):
    resp = client.get("/api/v1/events/evt/0003%20with%20spaces", headers=api_headers)
    assert resp.status_code == 200 and resp.json["caller"]["hidden"] is True
    assert resp.json["decisions"][0]["reason_text"] == "Звонящий положил трубку до окончания ожидания"
    pk = resp.json["pk"]
    for unknown in ("nope", str(pk), "evt-0001%00", "x" * 300):
        resp = client.get(f"/api/v1/events/{unknown}", headers=api_headers)
        assert resp.status_code == 404 and resp.json == {"error": "событие не найдено"}, unknown


def test_list_newest_first_with_filters_and_pages(client, api_headers, logged):
    resp = client.get("/api/v1/events", headers=api_headers)
    assert resp.status_code == 200
    assert [i["id"] for i in resp.json["items"]] == ["evt/0003 with spaces", "evt-0002", "evt-0001"]
    assert resp.json["next_before"] is None and "payload" not in resp.json["items"][0]
    mine = client.get(f"/api/v1/events?subscriber={logged['ivanov']}&limit=50", headers=api_headers).json
    assert [i["id"] for i in mine["items"]] == ["evt/0003 with spaces", "evt-0001"]
    page = client.get("/api/v1/events?limit=2", headers=api_headers).json
    assert len(page["items"]) == 2 and page["next_before"] == page["items"][1]["pk"]
    rest = client.get(f"/api/v1/events?limit=2&before={page['next_before']}", headers=api_headers).json
    assert [i["id"] for i in rest["items"]] == ["evt-0001"]
    by_caller = client.get("/api/v1/events?caller=89023855270&status=not_notified", headers=api_headers).json
    assert [i["id"] for i in by_caller["items"]] == ["evt-0002"]
    assert client.get("/api/v1/events?subscriber=999999", headers=api_headers).json == {
        "items": [], "next_before": None}


@pytest.mark.parametrize("qs, field", [
    ("subscriber=abc", "subscriber"), ("limit=0", "limit"), ("limit=1000", "limit"),
    ("before=-1", "before"), ("status=done", "status"), ("subscriber=99999999999999999999", "subscriber"),
])
def test_bad_parameters_are_422(client, api_headers, qs, field):
    resp = client.get(f"/api/v1/events?{qs}", headers=api_headers)
    assert resp.status_code == 422 and set(resp.json["errors"]) == {field}
