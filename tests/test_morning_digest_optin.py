"""«Утренняя сводка» as a rule's option: criteria, the API's rule schema and the rule dialog."""
import pytest
from sqlalchemy import select

from notifier.core.criteria import criteria_to_json, merge_changes, parse_criteria, summary
from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import Rule

from .factories import rule, subscriber

HTMX = {"HX-Request": "true"}


@pytest.mark.parametrize("body, expected", [
    ({"types": ["missed_calls"]}, False),
    ({"types": ["missed_calls"], "morning_digest": None}, False),
    ({"types": ["missed_calls"], "morning_digest": False}, False),
    ({"types": ["missed_calls"], "morning_digest": True}, True),
    ({"types": ["voicemail"], "morning_digest": True}, False),  # missed calls only, like time and callers
])
def test_criteria(body, expected):
    c = parse_criteria(body)
    assert c.morning_digest is expected
    data = criteria_to_json(c)
    assert ("morning_digest" in data) is expected  # stored only when true: older rows stay as they are
    assert parse_criteria(data) == c
    assert summary(c).endswith("; утренняя сводка") is expected


@pytest.mark.parametrize("value", ["yes", 1, 0, "true", [], {}])
def test_criteria_refuses_non_booleans(value):
    with pytest.raises(FieldErrors) as exc:
        parse_criteria({"types": ["missed_calls"], "morning_digest": value})
    assert exc.value.errors == {"morning_digest": "Ожидается true или false"}


def test_merge_keeps_or_replaces_it():
    current = {"types": ["missed_calls"], "morning_digest": True}
    assert merge_changes(current, {"time": {"mode": "all"}})["morning_digest"] is True
    assert merge_changes(current, {"morning_digest": False})["morning_digest"] is False


@pytest.fixture
def api(client, api_headers):
    class Api:
        def __getattr__(self, method):
            return lambda path, **kw: getattr(client, method)("/api/v1" + path, headers=api_headers, **kw)
    return Api()


def test_api_rule_schema(app, api):
    subscriber("101", "Иванов Иван")
    resp = api.post("/rules", json={"subscribers": ["101"], "types": ["missed_calls"]})
    plain = resp.json["items"][0]
    assert resp.status_code == 201 and plain["morning_digest"] is False
    resp = api.post("/rules", json={"subscribers": ["101"], "types": ["missed_calls"], "morning_digest": True})
    item = resp.json["items"][0]
    assert item["morning_digest"] is True and item["summary"] == "Все пропущенные звонки; утренняя сводка"
    assert api.get(f"/rules/{item['id']}").json["morning_digest"] is True
    resp = api.patch(f"/rules/{item['id']}", json={"morning_digest": False})
    assert resp.status_code == 200 and resp.json["morning_digest"] is False
    resp = api.patch(f"/rules/{plain['id']}", json={"time": {"mode": "off_hours"}, "morning_digest": True})
    assert resp.json["morning_digest"] is True and resp.json["time"] == {"mode": "off_hours"}
    resp = api.post("/rules/bulk", json={"ids": [plain["id"], item["id"]], "action": "update",
                                         "changes": {"morning_digest": True}})
    assert resp.status_code == 200
    assert [r["morning_digest"] for r in api.get("/rules").json["items"]] == [True, True]
    resp = api.post("/rules", json={"subscribers": ["101"], "types": ["missed_calls"], "morning_digest": "yes"})
    assert resp.status_code == 422 and resp.json["errors"] == {"morning_digest": "Ожидается true или false"}


def stored():
    db.session.expire_all()
    return [r.criteria for r in db.session.scalars(select(Rule).order_by(Rule.id))]


def test_dialog_checkbox(app, auth_client):
    sid = subscriber("101", "Иванов Иван").id
    html = auth_client.get("/rules/new", headers=HTMX).get_data(as_text=True)
    assert "<legend>Утренняя сводка</legend>" in html and 'name="morning_digest" value="1">' in html
    resp = auth_client.post("/rules/new", headers=HTMX, data={
        "csrf_token": auth_client.csrf_token, "action": "save", "subscribers": [sid], "types": ["missed_calls"],
        "time_mode": "work_hours", "callers_mode": "all", "morning_digest": "1"})
    assert resp.status_code == 200
    assert stored() == [{"types": ["missed_calls"], "time": {"mode": "work_hours"}, "callers": {"mode": "all"},
                         "morning_digest": True}]
    rule_id = db.session.scalar(select(Rule.id))
    html = auth_client.get(f"/rules/{rule_id}/edit", headers=HTMX).get_data(as_text=True)
    assert 'name="morning_digest" value="1" checked' in html
    assert "Все пропущенные звонки в рабочее время; утренняя сводка" in auth_client.get("/").get_data(as_text=True)
    # unchecked on save: off again
    auth_client.post(f"/rules/{rule_id}/edit", headers=HTMX, data={
        "csrf_token": auth_client.csrf_token, "action": "save", "types": ["missed_calls"], "time_mode": "all",
        "callers_mode": "all"})
    assert "morning_digest" not in stored()[0]


def test_bulk_edit_sees_the_option_as_part_of_the_criteria(app, auth_client):
    sid = subscriber("101", "Иванов Иван").id
    ids = [rule(sid).id, rule(sid, morning_digest=True).id]
    html = auth_client.get(f"/rules/bulk-edit?ids={ids[0]}&ids={ids[1]}", headers=HTMX).get_data(as_text=True)
    assert "У отмеченных правил разные критерии" in html
