"""Hypothesis against the admin JSON API: random and malformed bodies, ids and
query strings on every write and read endpoint, never a 5xx and always JSON."""
from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from notifier.extensions import db
from notifier.models import Subscriber

from .test_events_fuzz import fuzz, json_values, phone_like


KEYS = ["number", "name", "email", "telegram", "numbers", "vip", "subscribers", "types", "time",
        "callers", "mode", "period", "ids", "action", "changes", "timezone", "week", "holidays"]
values = st.one_of(json_values, phone_like, st.lists(phone_like, max_size=3),
                   st.sampled_from(["missed_calls", "voicemail", "all", "listed", "vip", "period",
                                    "work_hours", "update", "delete", "101", "Europe/Moscow"]))
bodies = st.one_of(st.dictionaries(st.sampled_from(KEYS), values, max_size=6), json_values)
WRITES = [("post", "/api/v1/subscribers"), ("patch", "/api/v1/subscribers/{id}"),
          ("post", "/api/v1/contacts"), ("patch", "/api/v1/contacts/{id}"),
          ("post", "/api/v1/rules"), ("patch", "/api/v1/rules/{id}"), ("post", "/api/v1/rules/bulk"),
          ("put", "/api/v1/schedule")]
READS = ["/api/v1/subscribers?q={q}", "/api/v1/contacts?q={q}", "/api/v1/rules?subscriber={q}",
         "/api/v1/events?subscriber={q}&limit={q}", "/api/v1/events/{q}", "/api/v1/subscribers/{q}"]


def _check(resp):
    assert resp.status_code < 500, (resp.status_code, resp.get_data(as_text=True)[:300])
    if resp.status_code != 204:
        assert resp.is_json, resp.get_data(as_text=True)[:300]


@fuzz(600)
@given(endpoint=st.sampled_from(WRITES), body=bodies, raw=st.booleans(),
       ident=st.sampled_from(["1", "2", "0", "999999999", "-1"]))
def test_writes_never_5xx(app, client, api_headers, endpoint, body, raw, ident):
    if db.session.get(Subscriber, 1) is None:
        db.session.add(Subscriber(id=1, number="101", number_key="101", name="Иванов"))
        db.session.commit()
    method, url = endpoint
    data = json.dumps(body).encode() if not raw else json.dumps(body)[:-1].encode() + b"\xff"
    resp = getattr(client, method)(url.replace("{id}", ident), data=data,
                                   headers={**api_headers, "Content-Type": "application/json"})
    _check(resp)


@fuzz(300)
@given(url=st.sampled_from(READS), q=st.text(max_size=40))
def test_reads_never_5xx(client, api_headers, url, q):
    from urllib.parse import quote

    resp = client.get(url.replace("{q}", quote(q, safe="")), headers=api_headers)
    assert resp.status_code < 500, (resp.status_code, url, q)
