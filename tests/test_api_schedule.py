"""GET/PUT /api/v1/schedule: the contract's JSON in and out, every error class."""
import pytest

from notifier.core.workhours import Schedule
from notifier.services import settings

CONTRACT_EXAMPLE = {
    "timezone": "Europe/Moscow",
    "week": {"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]], "wed": [["09:00", "18:00"]],
             "thu": [["09:00", "18:00"]], "fri": [["09:00", "17:00"]], "sat": [], "sun": []},
    "holidays": {"country": "RU", "extra": ["2026-12-31"], "workdays": []},
}


def test_get_answers_the_default_until_saved(client, api_headers):
    resp = client.get("/api/v1/schedule", headers=api_headers)
    assert resp.status_code == 200
    assert resp.json == Schedule.default("Europe/Moscow").to_json()
    assert resp.json["week"]["sat"] == [] and resp.json["holidays"]["country"] == "RU"


def test_default_timezone_follows_the_environment(app, client, api_headers):
    app.config["TIMEZONE"] = "Asia/Novosibirsk"
    assert client.get("/api/v1/schedule", headers=api_headers).json["timezone"] == "Asia/Novosibirsk"


def test_put_the_contract_example_and_read_it_back(app, client, api_headers):
    resp = client.put("/api/v1/schedule", json=CONTRACT_EXAMPLE, headers=api_headers)
    assert resp.status_code == 200
    assert resp.json == CONTRACT_EXAMPLE
    assert client.get("/api/v1/schedule", headers=api_headers).json == CONTRACT_EXAMPLE
    assert settings.schedule() == Schedule.from_json(CONTRACT_EXAMPLE)


def test_put_normalises_several_intervals_midnight_and_no_calendar(client, api_headers):
    body = {"timezone": "Asia/Vladivostok",
            "week": {"mon": [["14:00", "24:00"], ["00:00", "12:00"]], "sun": [["10:00", "16:00"]]},
            "holidays": {"country": None, "extra": ["2027-01-02", "2026-12-31"], "workdays": ["2026-12-26"]}}
    resp = client.put("/api/v1/schedule", json=body, headers=api_headers)
    assert resp.status_code == 200
    assert resp.json["week"]["mon"] == [["00:00", "12:00"], ["14:00", "24:00"]]
    assert resp.json["week"]["tue"] == []
    assert resp.json["holidays"] == {"country": None, "extra": ["2026-12-31", "2027-01-02"],
                                     "workdays": ["2026-12-26"]}


def test_a_get_answer_can_be_put_back_unchanged(client, api_headers):
    got = client.get("/api/v1/schedule", headers=api_headers).json
    got["ignored_extra_key"] = 1
    resp = client.put("/api/v1/schedule", json=got, headers=api_headers)
    assert resp.status_code == 200 and "ignored_extra_key" not in resp.json


@pytest.mark.parametrize("body, field", [
    ({"week": {}}, "timezone"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": 3}, "timezone"),
    ({"timezone": "UTC", "week": []}, "week"),
    ({"timezone": "UTC", "week": {"monday": []}}, "week"),
    ({"timezone": "UTC", "week": {"mon": "09:00-18:00"}}, "week.mon"),
    ({"timezone": "UTC", "week": {"mon": [["09:00"]]}}, "week.mon"),
    ({"timezone": "UTC", "week": {"tue": [["9:00", "18:00"]]}}, "week.tue"),
    ({"timezone": "UTC", "week": {"wed": [["09:00", "24:01"]]}}, "week.wed"),
    ({"timezone": "UTC", "week": {"thu": [["18:00", "09:00"]]}}, "week.thu"),
    ({"timezone": "UTC", "week": {"fri": [["09:00", "13:00"], ["12:00", "18:00"]]}}, "week.fri"),
    ({"timezone": "UTC", "holidays": []}, "holidays"),
    ({"timezone": "UTC", "holidays": {"country": "RU", "moved": []}}, "holidays"),
    ({"timezone": "UTC", "holidays": {"country": "XX"}}, "holidays.country"),
    ({"timezone": "UTC", "holidays": {"extra": "2026-12-31"}}, "holidays.extra"),
    ({"timezone": "UTC", "holidays": {"extra": ["31.12.2026"]}}, "holidays.extra"),
    ({"timezone": "UTC", "holidays": {"workdays": ["2026-02-30"]}}, "holidays.workdays"),
    ({"timezone": "UTC", "holidays": {"extra": ["2026-12-31"], "workdays": ["2026-12-31"]}}, "holidays.workdays"),
])
def test_put_invalid_fields_is_422_and_saves_nothing(client, api_headers, body, field):
    before = client.get("/api/v1/schedule", headers=api_headers).json
    resp = client.put("/api/v1/schedule", json=body, headers=api_headers)
    assert resp.status_code == 422
    assert field in resp.json["errors"] and resp.json["errors"][field]
    assert client.get("/api/v1/schedule", headers=api_headers).json == before


def test_put_reports_every_bad_field_at_once(client, api_headers):
    resp = client.put("/api/v1/schedule", headers=api_headers, json={
        "timezone": "Nowhere", "week": {"mon": [["10:00", "09:00"]]}, "holidays": {"country": "ZZ"}})
    assert resp.status_code == 422
    assert set(resp.json["errors"]) == {"timezone", "week.mon", "holidays.country"}


@pytest.mark.parametrize("data, content_type", [
    ("[1, 2]", "application/json"),
    ("not json", "application/json"),
    ("", "application/json"),
    ("timezone=UTC", "application/x-www-form-urlencoded"),
])
def test_put_a_body_that_is_not_a_json_object_is_400(client, api_headers, data, content_type):
    resp = client.put("/api/v1/schedule", data=data, content_type=content_type, headers=api_headers)
    assert resp.status_code == 400 and resp.json["error"]


@pytest.mark.parametrize("method", ["get", "put"])
def test_schedule_needs_a_token(client, method):
    resp = getattr(client, method)("/api/v1/schedule", json=CONTRACT_EXAMPLE)
    assert resp.status_code == 401
