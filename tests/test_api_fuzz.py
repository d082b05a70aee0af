"""Hypothesis against the admin JSON API: random and malformed bodies, ids and
query strings on every write and read endpoint, never a 5xx and always JSON.

Includes the shapes that once made a 500: ids past the database's integer
range (in the path, the query and the body) and JSON nested past Python's
recursion limit."""
from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from notifier.extensions import db
from notifier.models import Contact, ContactNumber, Rule, Subscriber
from notifier.services import settings as app_settings
from notifier.telegram import bot

from .test_events_fuzz import deep_field, deep_json, edge_ints, fuzz, json_values, phone_like

KEYS = ["number", "name", "email", "telegram", "numbers", "vip", "subscribers", "types", "time",
        "callers", "mode", "period", "ids", "action", "changes", "timezone", "week", "holidays"]
values = st.one_of(json_values, phone_like, st.lists(phone_like, max_size=3), edge_ints,
                   st.lists(st.one_of(edge_ints, st.integers(1, 3)), max_size=4),
                   st.sampled_from(["missed_calls", "voicemail", "all", "listed", "vip", "period",
                                    "work_hours", "update", "delete", "101", "Europe/Moscow"]))
bodies = st.one_of(st.dictionaries(st.sampled_from(KEYS), values, max_size=6), json_values)
# A request body: JSON of the above, deeply nested JSON, or either cut short with a byte that is not UTF-8.
raw_bodies = st.builds(
    lambda text, garble: text.encode()[:-1] + b"\xff" if garble else text.encode(),
    st.one_of(bodies.map(json.dumps), deep_json, deep_field), st.booleans())
# A path id: small (existing or not), at the integer range's edge, far past it, or not plain ASCII digits.
idents = st.one_of(
    st.sampled_from(["1", "2", "0", "-1", "999999999", "2147483647", "2147483648", "9223372036854775808",
                     "1" + "0" * 30, "9" * 400, "\uff11", "\u0661", "1.0", "1e3", "%00"]),
    st.integers(0, 10**40).map(str))

TELEGRAM_SECRET = "fuzz-telegram-secret-0123456789abcdef"
WRITES = [("post", "/api/v1/subscribers"), ("patch", "/api/v1/subscribers/{id}"),
          ("post", "/api/v1/contacts"), ("patch", "/api/v1/contacts/{id}"),
          ("post", "/api/v1/rules"), ("patch", "/api/v1/rules/{id}"), ("post", "/api/v1/rules/bulk"),
          ("put", "/api/v1/schedule"), ("post", "/api/v1/subscribers/{id}/telegram-link"),
          ("post", "/api/v1/telegram/webhook")]
ID_ROUTES = [(method, url) for url in ("/api/v1/subscribers/{id}", "/api/v1/contacts/{id}", "/api/v1/rules/{id}")
             for method in ("get", "patch", "delete")] + [
    ("post", "/api/v1/subscribers/{id}/telegram-link"), ("delete", "/api/v1/subscribers/{id}/telegram-link")]
READS = ["/api/v1/subscribers?q={q}", "/api/v1/contacts?q={q}", "/api/v1/rules?subscriber={q}",
         "/api/v1/events?subscriber={q}&limit={q}", "/api/v1/events?before={q}", "/api/v1/events/{q}",
         "/api/v1/subscribers/{q}", "/api/v1/rules/{q}"]


def _check(resp):
    assert resp.status_code < 500, (resp.status_code, resp.get_data(as_text=True)[:300])
    if resp.status_code != 204:
        assert resp.is_json, resp.get_data(as_text=True)[:300]


def _seed():
    """Rows with id 1 for the paths to find, and the Telegram webhook mode on
    (no bot token: an update is parsed and checked, nothing is sent)."""
    with db.session.no_autoflush:
        if db.session.get(Subscriber, 1) is None:  # a DELETE took it (and its rules)
            db.session.add(Subscriber(id=1, number="101", number_key="101", name="Иванов"))
        if db.session.get(Rule, 1) is None:
            db.session.add(Rule(id=1, subscriber_id=1, criteria={"types": ["missed_calls"], "time": {"mode": "all"},
                                                                 "callers": {"mode": "all"}}))
        if db.session.get(Contact, 1) is None:
            db.session.execute(db.delete(ContactNumber).where(ContactNumber.number_key == "102"))
            db.session.add(Contact(id=1, name="Ромашка", numbers=[ContactNumber(number="102", number_key="102")]))
        if app_settings.get(bot.WEBHOOK_SECRET_KEY) != TELEGRAM_SECRET:
            app_settings.put(bot.WEBHOOK_SECRET_KEY, TELEGRAM_SECRET)
    db.session.commit()


@fuzz(1500)
@given(endpoint=st.sampled_from(WRITES), data=raw_bodies, ident=idents)
def test_writes_never_5xx(app, client, api_headers, endpoint, data, ident):
    _seed()
    method, url = endpoint
    resp = getattr(client, method)(url.replace("{id}", quote(ident, safe="")), data=data, headers={
        **api_headers, "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
    _check(resp)


@fuzz(600)
@given(endpoint=st.sampled_from(ID_ROUTES), ident=idents, body=st.one_of(st.none(), bodies))
def test_ids_never_5xx(app, client, api_headers, endpoint, ident, body):
    """Every route with an id, whatever the id: an answer, or a 404 for one that cannot exist."""
    _seed()
    method, url = endpoint
    resp = getattr(client, method)(url.replace("{id}", quote(ident, safe="")), json=body, headers=api_headers)
    _check(resp)
    if ident.isascii() and ident.isdigit() and not 1 <= int(ident) <= 2**31 - 1:
        assert resp.status_code == 404, (ident, resp.status_code)


@fuzz(500)
@given(url=st.sampled_from(READS), q=st.one_of(st.text(max_size=40), idents, edge_ints.map(str)))
def test_reads_never_5xx(client, api_headers, url, q):
    resp = client.get(url.replace("{q}", quote(q, safe="")), headers=api_headers)
    assert resp.status_code < 500, (resp.status_code, url, q)
