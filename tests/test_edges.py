"""Edge shapes of input that answered 500 (issue 12, item 8), each now a clear 4xx:
ids past the database's integer range in every route, JSON nested past Python's
recursion limit on every JSON endpoint, bulk rule requests over the limit, and a
login ``next`` that would have split the Location header or left the site.

Run on SQLite and PostgreSQL alike: the integer-range failure differs there
(OverflowError in the SQLite driver past 2**63, "integer out of range" in
PostgreSQL past 2**31)."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from notifier.extensions import db
from notifier.models import MAX_ID, Rule
from notifier.services import settings
from notifier.services.rules import MAX_IDS
from notifier.telegram import bot

from . import factories
from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, WEBHOOK_SECRET, csrf_token_of
from .webhook_signing import signed_headers

# Past PostgreSQL's integer, past SQLite's (and C's) 64 bits, and far past both.
HUGE_IDS = [MAX_ID + 1, 2**63, 10**30]

# Every route with an id in its path: (method, URL with {id}). The API with
# its bearer token, the UI logged in with a CSRF token.
API_ID_ROUTES = [
    ("GET", "/api/v1/subscribers/{id}"), ("PATCH", "/api/v1/subscribers/{id}"),
    ("DELETE", "/api/v1/subscribers/{id}"),
    ("POST", "/api/v1/subscribers/{id}/telegram-link"), ("DELETE", "/api/v1/subscribers/{id}/telegram-link"),
    ("GET", "/api/v1/contacts/{id}"), ("PATCH", "/api/v1/contacts/{id}"), ("DELETE", "/api/v1/contacts/{id}"),
    ("GET", "/api/v1/rules/{id}"), ("PATCH", "/api/v1/rules/{id}"), ("DELETE", "/api/v1/rules/{id}"),
    ("GET", "/api/v1/missed-calls/{id}"), ("POST", "/api/v1/missed-calls/{id}/close"),
]
UI_ID_ROUTES = [
    ("GET", "/subscribers/{id}/edit"), ("POST", "/subscribers/{id}/edit"),
    ("GET", "/subscribers/{id}/delete"), ("POST", "/subscribers/{id}/delete"),
    ("POST", "/subscribers/{id}/telegram-link"), ("POST", "/subscribers/{id}/telegram-link/email"),
    ("POST", "/subscribers/{id}/telegram-unlink"),
    ("GET", "/contacts/{id}/edit"), ("POST", "/contacts/{id}/edit"),
    ("GET", "/contacts/{id}/delete"), ("POST", "/contacts/{id}/delete"),
    ("GET", "/rules/{id}/edit"), ("POST", "/rules/{id}/edit"), ("POST", "/rules/{id}/delete"),
    ("GET", "/log/{id}"), ("POST", "/log/deliveries/{id}/retry"),
    ("POST", "/log/deliveries/{id}/send"),
    ("POST", "/missed/{id}/close"),
    ("POST", "/settings/tokens/{id}/revoke"),
]


def test_every_route_with_an_id_is_checked_here(app):
    """A new route with an id joins the lists above (and so these tests)."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if "<int:" in rule.rule:
            url = re.sub(r"<int:\w+>", "{id}", rule.rule)
            routes |= {(method, url) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == set(API_ID_ROUTES) | set(UI_ID_ROUTES)


@pytest.mark.parametrize("method, url", API_ID_ROUTES, ids=[f"{m} {u}" for m, u in API_ID_ROUTES])
def test_api_id_past_integer_range_is_404(client, api_headers, method, url):
    for ident in HUGE_IDS:
        resp = client.open(url.format(id=ident), method=method, json={"name": "x"}, headers=api_headers)
        assert resp.status_code == 404, (ident, resp.get_data(as_text=True)[:300])
        assert resp.is_json and resp.get_json()["error"]


@pytest.mark.parametrize("method, url", UI_ID_ROUTES, ids=[f"{m} {u}" for m, u in UI_ID_ROUTES])
def test_ui_id_past_integer_range_is_404(auth_client, method, url):
    for ident in HUGE_IDS:
        resp = auth_client.open(url.format(id=ident), method=method, data={"name": "x", "number": "101"},
                                headers={"X-CSRFToken": auth_client.csrf_token})
        assert resp.status_code == 404, (ident, resp.get_data(as_text=True)[:300])
        assert "Страница не найдена" in resp.get_data(as_text=True)


@pytest.mark.parametrize("method, url", API_ID_ROUTES[:3] + UI_ID_ROUTES[:1])
def test_largest_possible_id_reaches_the_database(auth_client, api_headers, method, url):
    """MAX_ID itself is a valid id (the query runs, the PostgreSQL integer holds it): a plain 404."""
    resp = auth_client.open(url.format(id=MAX_ID), method=method, json={"name": "x"}, headers=api_headers)
    assert resp.status_code == 404


def test_ids_in_range_still_work(app, client, api_headers):
    sub = factories.subscriber("101", "Иванов").id
    assert client.get(f"/api/v1/subscribers/{sub}", headers=api_headers).get_json()["number"] == "101"
    assert client.get("/api/v1/subscribers/0", headers=api_headers).status_code == 404
    assert client.get(f"/api/v1/subscribers/{sub:05d}", headers=api_headers).status_code == 200


# -- JSON nested past the recursion limit ------------------------------------------------

DEEP_BODIES = {
    "open brackets": "[" * 5000,
    "closed brackets": "[" * 5000 + "]" * 5000,
    "inside an object": '{"name": ' + "[" * 5000 + "]" * 5000 + "}",
    "objects": '{"a":' * 5000 + "1" + "}" * 5000,
}
API_JSON_ROUTES = [
    ("POST", "/api/v1/subscribers"), ("PATCH", "/api/v1/subscribers/{id}"),
    ("POST", "/api/v1/contacts"), ("PATCH", "/api/v1/contacts/{id}"),
    ("POST", "/api/v1/rules"), ("PATCH", "/api/v1/rules/{id}"), ("POST", "/api/v1/rules/bulk"),
    ("PUT", "/api/v1/schedule"),
]


@pytest.fixture
def records(app):
    """A subscriber with a rule and a contact, so PATCH reaches the body."""
    sub = factories.subscriber("101", "Иванов")
    return {"subscribers": sub.id, "rules": factories.rule(sub.id).id,
            "contacts": factories.contact("Ромашка", "102").id}


@pytest.mark.parametrize("method, url", API_JSON_ROUTES, ids=[f"{m} {u}" for m, u in API_JSON_ROUTES])
def test_api_deeply_nested_json_is_400(client, api_headers, records, method, url):
    url = url.format(id=records.get(url.split("/")[3]))
    for name, body in DEEP_BODIES.items():
        resp = client.open(url, method=method, data=body,
                           headers={**api_headers, "Content-Type": "application/json"})
        assert resp.status_code == 400, (name, resp.get_data(as_text=True)[:300])
        assert resp.get_json()["error"]


def test_events_webhook_deeply_nested_json_is_400(client):
    for name, body in DEEP_BODIES.items():
        raw = body.encode()
        resp = client.post("/api/v1/events", data=raw, headers=signed_headers(raw, WEBHOOK_SECRET))
        assert resp.status_code == 400 and resp.get_json()["error"], name


def test_telegram_webhook_deeply_nested_json_is_400(app, client):
    settings.put(bot.WEBHOOK_SECRET_KEY, "s" * 40)
    db.session.commit()
    for name, body in DEEP_BODIES.items():
        resp = client.post("/api/v1/telegram/webhook", data=body, headers={
            "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "s" * 40})
        assert resp.status_code == 400 and resp.get_json()["error"], name


# -- bulk rule requests over the limit ---------------------------------------------------

TOO_MANY = [str(i) for i in range(1, MAX_IDS + 2)]


@pytest.fixture
def one_rule(app):
    return factories.rule(factories.subscriber("101", "Иванов").id).id


def rule_count(app) -> int:
    return db.session.scalar(select(func.count(Rule.id)))


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("method, url, extra", [
    ("POST", "/rules/bulk-delete", {"confirmed": "1"}),
    ("POST", "/rules/bulk-edit", {"action": "save", "types": "voicemail", "time_mode": "all", "callers_mode": "all"}),
    ("POST", "/rules/bulk-edit", {"action": "open"}),
    ("GET", "/rules/bulk-edit", {}),
])
def test_ui_bulk_over_the_limit_is_a_message(app, auth_client, one_rule, method, url, extra, htmx):
    ids = [str(one_rule)] + TOO_MANY
    headers = {"X-CSRFToken": auth_client.csrf_token, **({"HX-Request": "true"} if htmx else {})}
    if method == "GET":
        resp = auth_client.get(url, query_string={"ids": ids}, headers=headers)
    else:
        resp = auth_client.post(url, data={"ids": ids, **extra}, headers=headers)
    assert resp.status_code == 422, resp.get_data(as_text=True)[:300]
    message = f"Не больше {MAX_IDS} правил за раз"
    if htmx:
        assert json.loads(resp.headers["HX-Trigger"])["rules-changed"]["message"] == message
        assert resp.headers["HX-Reswap"] == "none"
    else:
        assert message in resp.get_data(as_text=True)
    assert rule_count(app) == 1


@pytest.mark.parametrize("action", ["delete", "update"])
def test_api_bulk_over_the_limit_is_422(app, client, api_headers, one_rule, action):
    resp = client.post("/api/v1/rules/bulk", headers=api_headers,
                       json={"action": action, "ids": [one_rule] + [int(i) for i in TOO_MANY],
                             "changes": {"types": ["voicemail"]}})
    assert resp.status_code == 422 and "ids" in resp.get_json()["errors"]
    assert rule_count(app) == 1


def test_ui_bulk_at_the_limit_still_works(app, auth_client, one_rule):
    ids = [str(one_rule)] + TOO_MANY[:MAX_IDS - 1]
    resp = auth_client.post("/rules/bulk-delete", data={"ids": ids, "confirmed": "1"},
                            headers={"X-CSRFToken": auth_client.csrf_token})
    assert resp.status_code == 302
    assert rule_count(app) == 0


# -- login next ------------------------------------------------------------------------

def login(client, next_value: str):
    return client.post("/login", query_string={"next": next_value},
                       data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                             "csrf_token": csrf_token_of(client, "/login")})


@pytest.mark.parametrize("target", [
    "/\r\nSet-Cookie: evil=1", "/\r\n\r\n<script>alert(1)</script>", "/\nLocation: https://evil.example/",
    "/\\evil.example/", "/\\\\evil.example", "/\t/evil.example", "/\x00", "/\u2028x",
])
def test_login_next_with_control_characters_or_backslash_goes_home(client, admin, target):
    resp = login(client, target)
    assert resp.status_code == 302 and resp.location == "/"


def test_login_next_raw_crlf_in_query_goes_home(client, admin):
    """The attack as sent: ``next=/%0D%0A…`` in the query string."""
    token = csrf_token_of(client, "/login")
    resp = client.post("/login?next=/%0D%0ASet-Cookie:%20evil=1",
                       data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token})
    assert resp.status_code == 302 and resp.location == "/"
    assert "evil" not in resp.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("target", ["/contacts/", "/subscribers/?q=Иванов Иван", "/log/?status=failed&page=2"])
def test_login_next_on_site_is_kept(client, admin, target):
    resp = login(client, target)
    assert resp.status_code == 302
    assert resp.location.startswith(target.split("?")[0])
