"""/api/v1/rules per the contract: one rule per subscriber, 404/400/422, bulk, summary."""
import pytest

from notifier.core.criteria import parse_criteria
from notifier.extensions import db
from notifier.models import Rule, Subscriber

from .factories import subscriber

CONTRACT_BODY = {
    "subscribers": ["101", "102"],
    "types": ["missed_calls", "voicemail"],
    "time": {"mode": "period", "period": {"weekdays": ["sat", "sun"], "from": "10:00", "to": "18:00",
                                          "start_date": "2026-12-30", "end_date": "2027-01-08"}},
    "callers": {"mode": "listed", "numbers": ["+7 902 385 52 70", "101"]},
}


@pytest.fixture
def people(app):
    return {
        "101": subscriber("101", "Иванов Иван", email="ivanov@example.com").id,
        "102": subscriber("102", "Петрова Анна", email=None).id,
        "mobile": subscriber("+7 902 385-52-80", "Резерв", email=None).id,
    }


@pytest.fixture
def api(client, api_headers):
    class Api:
        def __getattr__(self, method):
            def call(path, **kw):
                return getattr(client, method)("/api/v1" + path, headers=api_headers, **kw)
            return call
    return Api()


def create(api, **body):
    resp = api.post("/rules", json={"subscribers": ["101"], "types": ["missed_calls"], **body})
    assert resp.status_code == 201, resp.json
    return resp.json["items"]


def test_create_answers_one_rule_per_subscriber(api, people):
    resp = api.post("/rules", json=CONTRACT_BODY)
    assert resp.status_code == 201
    items = resp.json["items"]
    assert [i["subscriber"] for i in items] == [
        {"id": people["101"], "number": "101", "name": "Иванов Иван"},
        {"id": people["102"], "number": "102", "name": "Петрова Анна"},
    ]
    first = items[0]
    assert first["types"] == ["missed_calls", "voicemail"]
    assert first["time"] == CONTRACT_BODY["time"]
    assert first["callers"] == {"mode": "listed", "numbers": ["+7 902 385-52-70", "101"]}
    assert first["summary"] == ("Голосовые сообщения и пропущенные звонки с номеров +7 902 385-52-70, 101 "
                                "по сб, вс с 10:00 до 18:00, с 30.12.2026 по 08.01.2027")
    assert first["created_at"] and first["updated_at"]
    assert api.get(f"/rules/{first['id']}").json == first


def test_stored_numbers_are_canonical(app, api, people):
    rule_id = create(api, **{**CONTRACT_BODY, "subscribers": ["101"],
                             "callers": {"mode": "listed", "numbers": ["8 (902) 385-52-70"]}})[0]["id"]
    criteria = db.session.get(Rule, rule_id).criteria
    assert criteria["callers"]["numbers"] == ["+79023855270"]
    # what the event engine reads back is what was asked for
    assert parse_criteria(criteria) == parse_criteria(
        {**CONTRACT_BODY, "callers": {"mode": "listed", "numbers": ["+7 902 385 52 70"]}})


@pytest.mark.parametrize("subscribers", [
    [None], [True], "101", [["101"]],
])
def test_bad_subscriber_values_are_422(api, people, subscribers):
    resp = api.post("/rules", json={"subscribers": subscribers, "types": ["voicemail"]})
    assert resp.status_code == 422 and "subscribers" in resp.json["errors"]


def test_subscribers_by_id_or_any_notation_without_repeats(api, people):
    items = api.post("/rules", json={"subscribers": [people["102"], "8 902 385 52 80", "102", "+79023855280"],
                                     "types": ["voicemail"]}).json["items"]
    assert [i["subscriber"]["id"] for i in items] == [people["102"], people["mobile"]]


@pytest.mark.parametrize("body, errors", [
    ({"types": ["missed_calls"]}, {"subscribers": "Добавьте хотя бы одного сотрудника"}),
    ({"subscribers": [], "types": []}, {"subscribers": "Добавьте хотя бы одного сотрудника",
                                        "types": "Выберите хотя бы один тип уведомлений"}),
    ({"subscribers": ["999", 424242, 10**30], "types": ["voicemail"]},
     {"subscribers": "Сотрудник не найден: 999, 424242, " + str(10**30)[:40]}),
    ({"subscribers": ["101"], "types": ["missed_calls"], "callers": {"mode": "listed", "numbers": []}},
     {"callers.numbers": "Добавьте хотя бы один номер"}),
    ({"subscribers": ["101"], "types": ["missed_calls"], "time": {"mode": "period", "period": {}}},
     {"time.period": "Ограничьте период днями недели, временем или датами"}),
])
def test_create_validation_errors(api, people, body, errors):
    resp = api.post("/rules", json=body)
    assert resp.status_code == 422
    assert resp.json == {"errors": errors}
    assert api.get("/rules").json == {"items": []}


@pytest.mark.parametrize("data", ["[1, 2]", "not json", '"text"'])
def test_body_that_is_not_an_object_is_400(api, people, data):
    resp = api.post("/rules", data=data, content_type="application/json")
    assert resp.status_code == 400 and "error" in resp.json


def test_unknown_ids_are_404(api, people):
    for call in (api.get, api.patch, api.delete):
        resp = call("/rules/4242", json={"types": ["voicemail"]})
        assert resp.status_code == 404 and resp.json["error"]
    assert api.get(f"/rules/{10**20}").status_code == 404


def test_list_and_filter_by_subscriber(api, people):
    create(api)
    create(api, subscribers=["102"], types=["voicemail"])
    assert len(api.get("/rules").json["items"]) == 2
    items = api.get(f"/rules?subscriber={people['102']}").json["items"]
    assert [i["summary"] for i in items] == ["Голосовые сообщения"]
    assert api.get("/rules?subscriber=4242").status_code == 404
    assert api.get("/rules?subscriber=abc").status_code == 422


@pytest.mark.parametrize("raw", ["0", "-1", "1.5", "²", "2147483648", "1" * 5000])
def test_subscriber_filter_not_an_id_is_422_naming_it(api, people, raw):
    resp = api.get("/rules", query_string={"subscriber": raw})
    assert resp.status_code == 422 and set(resp.json["errors"]) == {"subscriber"}


def test_list_is_in_id_order_unlike_the_page(api, people):
    """The API and the page share one listing; the API keeps its order by id."""
    later = create(api, subscribers=["102"])[0]["id"]  # Петрова: second on the page
    first = create(api, subscribers=["101"])[0]["id"]
    assert [i["id"] for i in api.get("/rules").json["items"]] == [later, first]


def test_patch_replaces_given_parts_and_keeps_the_rest(api, people):
    rule = create(api, time={"mode": "work_hours"}, callers={"mode": "vip"})[0]
    assert rule["summary"] == "Пропущенные звонки с VIP-номеров в рабочее время"
    resp = api.patch(f"/rules/{rule['id']}", json={"time": {"mode": "off_hours"}})
    assert resp.status_code == 200
    assert resp.json["summary"] == "Пропущенные звонки с VIP-номеров в нерабочее время"
    assert resp.json["subscriber"]["number"] == "101"
    bad = api.patch(f"/rules/{rule['id']}", json={"callers": {"mode": "listed", "numbers": ["abc"]}})
    assert bad.status_code == 422 and "callers.numbers" in bad.json["errors"]
    moved = api.patch(f"/rules/{rule['id']}", json={"subscribers": ["102"]})
    assert moved.status_code == 422 and "subscribers" in moved.json["errors"]
    assert api.get(f"/rules/{rule['id']}").json["summary"] == "Пропущенные звонки с VIP-номеров в нерабочее время"


def test_delete(api, people):
    rule = create(api)[0]
    assert api.delete(f"/rules/{rule['id']}").status_code == 204
    assert api.get(f"/rules/{rule['id']}").status_code == 404


def test_bulk_update_keeps_each_subscriber(api, people):
    items = api.post("/rules", json={**CONTRACT_BODY}).json["items"]
    ids = [i["id"] for i in items]
    resp = api.post("/rules/bulk", json={"ids": ids, "action": "update",
                                         "changes": {"types": ["missed_calls"], "time": {"mode": "work_hours"},
                                                     "callers": {"mode": "all"}, "subscribers": ["102"]}})
    assert resp.status_code == 200
    assert [i["summary"] for i in resp.json["items"]] == ["Все пропущенные звонки в рабочее время"] * 2
    assert [i["subscriber"]["number"] for i in api.get("/rules").json["items"]] == ["101", "102"]


def test_bulk_update_is_all_or_nothing(api, people):
    voicemail = create(api, types=["voicemail"])[0]["id"]
    missed = create(api)[0]["id"]
    resp = api.post("/rules/bulk", json={"ids": [missed, voicemail], "action": "update",
                                         "changes": {"types": []}})
    assert resp.status_code == 422 and resp.json["errors"]["types"]
    resp = api.post("/rules/bulk", json={"ids": [missed, 4242], "action": "update",
                                         "changes": {"types": ["voicemail"]}})
    assert resp.status_code == 404
    assert api.get(f"/rules/{missed}").json["types"] == ["missed_calls"]


def test_bulk_delete(api, people):
    ids = [i["id"] for i in api.post("/rules", json=CONTRACT_BODY).json["items"]]
    keep = create(api, subscribers=["102"])[0]["id"]
    resp = api.post("/rules/bulk", json={"ids": ids, "action": "delete"})
    assert resp.status_code == 200 and resp.json == {"deleted": 2}
    assert [i["id"] for i in api.get("/rules").json["items"]] == [keep]


@pytest.mark.parametrize("body, field", [
    ({"ids": [1], "action": "archive"}, "action"),
    ({"action": "delete"}, "ids"),
    ({"ids": [], "action": "delete"}, "ids"),
    ({"ids": ["1"], "action": "delete"}, "ids"),
    ({"ids": [True], "action": "delete"}, "ids"),
])
def test_bulk_request_errors(api, people, body, field):
    resp = api.post("/rules/bulk", json=body)
    assert resp.status_code == 422 and field in resp.json["errors"]


def test_bulk_update_needs_changes(api, people):
    rule = create(api)[0]["id"]
    resp = api.post("/rules/bulk", json={"ids": [rule], "action": "update"})
    assert resp.status_code == 422 and "changes" in resp.json["errors"]
    resp = api.post("/rules/bulk", json={"ids": [rule], "action": "update", "changes": []})
    assert resp.status_code == 422 and "changes" in resp.json["errors"]


def test_needs_a_token(client, people):
    assert client.get("/api/v1/rules").status_code == 401
    assert client.post("/api/v1/rules/bulk", json={}).status_code == 401


def test_deleting_a_subscriber_removes_its_rules(app, api, people):
    create(api)
    db.session.delete(db.session.get(Subscriber, people["101"]))
    db.session.commit()
    assert api.get("/rules").json == {"items": []}
