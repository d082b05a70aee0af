"""«Пропущенные» page: login, list and states, filters (plain GET and htmx), the chart,
«Закрыть» (CSRF, htmx row swap, plain POST), odd input never a 500."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from notifier.extensions import db
from notifier.models import Event, MissedCall

from . import missed_data

HTMX_LIST = {"HX-Request": "true", "HX-Target": "missed-results", "HX-Trigger": "missed-filters"}


@pytest.fixture
def office(app):
    return missed_data.office(app)


def html_of(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def statuses(html: str) -> list[str]:
    return re.findall(r'data-status="(\w+)"', html)


def row_id(event_id: str) -> int:
    return db.session.scalar(select(MissedCall.id).join(MissedCall.event).where(Event.event_id == event_id))


def test_needs_login(client, app):
    resp = client.get("/missed/")
    assert resp.status_code in (302, 303) and "/login" in resp.headers["Location"]
    assert client.post("/missed/1/close").status_code in (302, 303, 400)


def test_nav_entry_and_empty_state(auth_client):
    html = html_of(auth_client.get("/missed/"))
    assert 'href="/missed/" aria-current="page">Пропущенные</a>' in html
    assert "Пропущенных звонков пока нет" in html


def test_list_newest_first_with_states_vip_and_time_to_callback(auth_client, office):
    html = html_of(auth_client.get("/missed/"))
    assert statuses(html) == ["open", "open", "called_back", "open"]
    assert re.search(r"Перезвонили: Петров Пётр, \d\d:\d\d, через 12 мин", html)
    assert html.count('class="badge vip"') == 1 and "+7 916 000-00-01" in html
    assert "Иванов Иван" in html and "12 мин</td>" in html
    assert html.count(">Закрыть</button>") == 3


def test_filters_as_plain_get(auth_client, office):
    assert statuses(html_of(auth_client.get("/missed/?open_only=1"))) == ["open", "open", "open"]
    assert statuses(html_of(auth_client.get("/missed/?vip=1"))) == ["open"]
    assert statuses(html_of(auth_client.get(f"/missed/?subscriber={office['petrov']}"))) == ["open"]
    html = html_of(auth_client.get("/missed/?status=called_back"))
    assert statuses(html) == ["called_back"]


def test_period_filter_and_default_period(auth_client, office):
    from datetime import datetime, timezone

    today = datetime.now(timezone.utc).date()
    # the default period is the last 14 days: the call 4 days ago is in it
    assert len(statuses(html_of(auth_client.get("/missed/")))) == 4
    recent = (today - timedelta(days=1)).isoformat()
    html = html_of(auth_client.get(f"/missed/?from={recent}&to={(today + timedelta(days=1)).isoformat()}"))
    assert len(statuses(html)) == 3
    far = html_of(auth_client.get("/missed/?from=2001-01-01&to=2001-01-31"))
    assert statuses(far) == [] and "Ничего не найдено" in far


def test_htmx_filter_answers_the_results_and_pushes_the_address(auth_client, office):
    resp = auth_client.get("/missed/?open_only=1&vip=&subscriber=", headers=HTMX_LIST)
    html = html_of(resp)
    assert html.lstrip().startswith('<div id="missed-results"') and "<html" not in html
    assert resp.headers["HX-Push-Url"] == "/missed/?status=open"
    assert statuses(html) == ["open", "open", "open"]
    assert 'hx-trigger="every 30s"' in html


def test_chart_has_titles_labels_numbers_and_median(auth_client, office):
    html = html_of(auth_client.get("/missed/"))
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert svg.count('<g class="bar"') == 14 and "<title>" in svg
    assert re.search(r"<title>\d\d\.\d\d\.\d{4}: пропущено 3, перезвонили 1 \(33%\)</title>", svg)
    assert 'class="back"' in svg and 'class="count"' in svg
    assert "Медиана времени до перезвона</dt><dd>12 мин</dd>" in html
    assert re.search(r"Перезвонили</dt><dd>1 <span class=\"muted\">\(25%\)</span>", html)
    assert "<caption" in html and "<td>3</td><td>1</td><td>33%</td>" in html


def test_chart_ignores_the_state_filter(auth_client, office):
    html = html_of(auth_client.get("/missed/?open_only=1"))
    assert "Пропущено</dt><dd>4</dd>" in html


def test_close_needs_csrf(auth_client, office):
    pk = row_id("m-vip")
    assert auth_client.post(f"/missed/{pk}/close").status_code == 400
    assert db.session.get(MissedCall, pk).status == "open"


def test_close_with_htmx_swaps_the_row(auth_client, office, admin):
    pk = row_id("m-vip")
    html = html_of(auth_client.post(f"/missed/{pk}/close", data={"csrf_token": auth_client.csrf_token},
                                    headers={"HX-Request": "true", "HX-Target": f"missed-row-{pk}"}))
    assert html.lstrip().startswith(f'<tr class="log-row missed-row" id="missed-row-{pk}"')
    assert "Закрыт вручную" in html and "Звонок закрыт." in html and "admin@example.com" in html
    assert ">Закрыть</button>" not in html
    row = db.session.get(MissedCall, pk)
    assert (row.status, row.resolved_how, row.resolved_by_user_email) == ("closed", "manual", "admin@example.com")
    again = html_of(auth_client.post(f"/missed/{pk}/close", data={"csrf_token": auth_client.csrf_token},
                                     headers={"HX-Request": "true", "HX-Target": f"missed-row-{pk}"}))
    assert "Закрыть нельзя" in again


def test_close_without_js_redirects_with_a_message(auth_client, office):
    pk = row_id("m-old")
    resp = auth_client.post(f"/missed/{pk}/close", data={"csrf_token": auth_client.csrf_token})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/missed/")
    assert "Звонок закрыт." in html_of(auth_client.get("/missed/"))


def test_closing_a_called_back_call_is_refused(auth_client, office):
    pk = row_id("m-back")
    resp = auth_client.post(f"/missed/{pk}/close", data={"csrf_token": auth_client.csrf_token})
    assert resp.status_code == 303
    assert db.session.get(MissedCall, pk).status == "called_back"


@pytest.mark.parametrize("pk", ["999999", str(2**31), str(2**63), "99999999999999999999999"])
def test_unknown_or_huge_id_is_404(auth_client, office, pk):
    assert auth_client.post(f"/missed/{pk}/close", data={"csrf_token": auth_client.csrf_token}).status_code == 404


@pytest.mark.parametrize("query", [
    "subscriber=abc", "subscriber=99999999999999999999", "from=9999-12-31", "from=2026-13-01&to=x",
    "to=2100-12-31&from=2100-12-31", "from=2026-12-01&to=2026-11-01", "before=-1", "before=2147483648",
    "limit=0", "vip=maybe", "status=lost", "open_only=2", "from=0001-01-01", "subscriber=%00",
    "from=2000-01-01&to=2100-12-31",
])
def test_odd_filters_never_500(auth_client, office, query):
    assert auth_client.get(f"/missed/?{query}").status_code == 200
    assert auth_client.get(f"/missed/?{query}", headers=HTMX_LIST).status_code == 200


def test_caller_text_is_escaped(auth_client, app):
    from notifier.models import Subscriber

    from . import factories

    factories.subscriber("102", '<script>alert("x")</script>', None)
    missed_data.missed("m1", timedelta(hours=1))
    html = html_of(auth_client.get("/missed/"))
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert db.session.scalar(select(Subscriber.id))
