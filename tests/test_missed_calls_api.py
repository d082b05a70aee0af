"""/api/v1/missed-calls: token, filters (strict: 422 naming the field), paging,
the JSON of a call, closing by hand (idempotent; 409 for a called-back call)."""
from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from sqlalchemy import select

from notifier.extensions import db
from notifier.models import Event, MissedCall

from . import missed_data


@pytest.fixture
def office(app):
    return missed_data.office(app)


def pk_of(event_id: str) -> int:
    return db.session.scalar(select(MissedCall.id).join(MissedCall.event).where(Event.event_id == event_id))


def items(client, api_headers, query="") -> list[dict]:
    resp = client.get(f"/api/v1/missed-calls{query}", headers=api_headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["items"]


def test_needs_a_token(client, office):
    assert client.get("/api/v1/missed-calls").status_code == 401
    assert client.post(f"/api/v1/missed-calls/{pk_of('m-vip')}/close").status_code == 401
    assert db.session.get(MissedCall, pk_of("m-vip")).status == "open"


def test_list_newest_first_with_state(client, api_headers, office):
    found = items(client, api_headers)
    assert [i["event_id"] for i in found] == ["m-petrov", "m-vip", "m-back", "m-old"]
    back = found[2]
    assert back["status"] == "called_back" and back["time_to_callback_seconds"] == 12 * 60
    assert back["resolved"]["how"] == "outgoing" and back["resolved"]["event_id"] == "o-back"
    assert back["resolved"]["by"] == {"id": office["petrov"], "number": "103", "name": "Петров Пётр"}
    assert back["state_text"].startswith("Перезвонили: Петров Пётр, ")
    assert back["subscriber"] == {"id": office["ivanov"], "number": "102", "name": "Иванов Иван"}
    assert back["caller_number"] == "+79023855270" and back["caller"] == "+7 902 385-52-70"
    vip = found[1]
    assert (vip["vip"], vip["status"], vip["resolved"], vip["time_to_callback_seconds"]) == (True, "open", None, None)


def test_filters(client, api_headers, office):
    def ids(query):
        return [i["event_id"] for i in items(client, api_headers, query)]

    assert ids("?open_only=1") == ["m-petrov", "m-vip", "m-old"]
    assert ids("?status=open") == ["m-petrov", "m-vip", "m-old"]
    assert ids("?status=called_back") == ["m-back"]
    assert ids("?vip=true") == ["m-vip"]
    assert ids(f"?subscriber={office['petrov']}") == ["m-petrov"]
    from datetime import datetime, timezone

    today = datetime.now(timezone.utc).date()
    assert ids(f"?from={(today - timedelta(days=1)).isoformat()}") == ["m-petrov", "m-vip", "m-back"]
    assert ids(f"?to={(today - timedelta(days=3)).isoformat()}") == ["m-old"]
    assert ids("?from=2001-01-01&to=2001-12-31") == []


def test_keyset_paging(client, api_headers, office):
    first = client.get("/api/v1/missed-calls?limit=3", headers=api_headers).get_json()
    assert [i["event_id"] for i in first["items"]] == ["m-petrov", "m-vip", "m-back"]
    assert first["next_before"] == first["items"][-1]["id"]
    rest = client.get(f"/api/v1/missed-calls?limit=3&before={first['next_before']}", headers=api_headers).get_json()
    assert [i["event_id"] for i in rest["items"]] == ["m-old"] and rest["next_before"] is None


@pytest.mark.parametrize("query, field", [
    ("subscriber=abc", "subscriber"), ("subscriber=0", "subscriber"), ("subscriber=2147483648", "subscriber"),
    ("before=-3", "before"), ("limit=201", "limit"), ("limit=0", "limit"), ("status=lost", "status"),
    ("vip=maybe", "vip"), ("open_only=yes%20please", "open_only"), ("from=25.11.2026", "from"),
    ("from=2026-02-30", "from"), ("to=9999-12-31", "to"), ("from=1999-12-31", "from"),
    ("from=2026-12-02&to=2026-12-01", "to"), ("open_only=1&status=closed", "status"), ("from=%00", "from"),
])
def test_bad_filters_are_422_naming_the_field(client, api_headers, office, query, field):
    resp = client.get(f"/api/v1/missed-calls?{query}", headers=api_headers)
    assert resp.status_code == 422 and field in resp.get_json()["errors"], resp.get_data(as_text=True)


def test_get_one(client, api_headers, office):
    resp = client.get(f"/api/v1/missed-calls/{pk_of('m-vip')}", headers=api_headers)
    assert resp.status_code == 200 and resp.get_json()["event_id"] == "m-vip"
    assert client.get("/api/v1/missed-calls/999999", headers=api_headers).status_code == 404


def test_close_is_idempotent(client, api_headers, office):
    pk = pk_of("m-vip")
    resp = client.post(f"/api/v1/missed-calls/{pk}/close", headers=api_headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "closed" and body["state_text"] == "Закрыт вручную"
    assert body["resolved"]["how"] == "manual" and body["resolved"]["closed_by"] == "API"
    assert body["time_to_callback_seconds"] is None
    again = client.post(f"/api/v1/missed-calls/{pk}/close", headers=api_headers)
    assert again.status_code == 200 and again.get_json()["resolved"]["at"] == body["resolved"]["at"]
    assert items(client, api_headers, "?status=closed")[0]["id"] == pk


def test_closing_a_called_back_call_is_409_with_its_state(client, api_headers, office):
    pk = pk_of("m-back")
    resp = client.post(f"/api/v1/missed-calls/{pk}/close", headers=api_headers)
    assert resp.status_code == 409
    body = resp.get_json()
    assert body["error"] and body["missed_call"]["status"] == "called_back"
    assert db.session.get(MissedCall, pk).status == "called_back"


def test_a_closed_call_is_not_called_back_later(client, api_headers, office):
    pk = pk_of("m-old")
    assert client.post(f"/api/v1/missed-calls/{pk}/close", headers=api_headers).status_code == 200
    missed_data.callback("o-late", timedelta(minutes=1), to="+7 495 222-33-44")
    db.session.expire_all()
    assert db.session.get(MissedCall, pk).status == "closed"


@pytest.mark.parametrize("ident", ["0", "2147483648", str(2**63), "1" * 30])
def test_huge_or_zero_ids_are_404(client, api_headers, office, ident):
    for method, url in (("GET", f"/api/v1/missed-calls/{ident}"), ("POST", f"/api/v1/missed-calls/{ident}/close")):
        resp = client.open(url, method=method, headers=api_headers)
        assert resp.status_code == 404 and resp.get_json()["error"]


def test_stats(client, api_headers, office):
    from datetime import datetime

    from notifier.core.localtime import in_zone

    resp = client.get("/api/v1/missed-calls/stats", headers=api_headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert len(body["days"]) == 14 and body["timezone"] == "Europe/Moscow"
    assert (body["missed"], body["called_back"], body["called_back_share"]) == (4, 1, 0.25)
    assert body["median_time_to_callback_seconds"] == 12 * 60
    today = in_zone(datetime.now(timezone.utc), "Europe/Moscow")[0].date()
    assert body["to"] == today.isoformat()
    vip = client.get("/api/v1/missed-calls/stats?vip=1&from=2026-01-01&to=2026-01-03", headers=api_headers).get_json()
    assert [d["date"] for d in vip["days"]] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert (vip["missed"], vip["called_back_share"], vip["median_time_to_callback_seconds"]) == (0, None, None)
    assert client.get("/api/v1/missed-calls/stats?from=x", headers=api_headers).status_code == 422
    assert client.get("/api/v1/missed-calls/stats").status_code == 401
