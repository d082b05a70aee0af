"""Helpers for PBX adapter tests (notifier.pbx, notifier.api.pbx).

- ``configure_pbx(app, THREECX_TOKEN="...")``: credentials as if saved in Settings.
- ``pbx_status(app, "3cx")``: the vendor's VendorStatus (counts per outcome, last outcome).
- ``stored_events(app)``: [(event_id, source, raw, payload)] of all stored events, oldest first.
- ``translate(vendor, **request)``: a vendor's translation of a VendorRequest built from keywords.
- ``DEMO``: a tiny vendor (token in the form, one event per request) that tests the
  plumbing itself; ``use_vendor(monkeypatch, DEMO)`` puts it (or any Vendor) in the registry.
"""
from __future__ import annotations

import hmac

from sqlalchemy import select

from notifier.extensions import db
from notifier.models import Event
from notifier.pbx import registry
from notifier.pbx.base import (
    ERROR,
    INVALID,
    BadAuth,
    BadBody,
    Credential,
    NoDirectory,
    Reply,
    Translation,
    Vendor,
    VendorFile,
    VendorRequest,
    event_id,
)
from notifier.services import pbx_status as status_service
from notifier.services import settings


def configure_pbx(app, **values: str | None) -> None:
    with app.app_context():
        settings.save_pbx_credentials(values)
        db.session.commit()


def pbx_status(app, slug: str) -> status_service.VendorStatus:
    with app.app_context():
        return status_service.statuses().get(slug) or status_service.VendorStatus()


def stored_events(app) -> list[tuple[str, str | None, dict | None, dict]]:
    with app.app_context():
        db.session.expire_all()
        return [(e.event_id, e.source, e.raw, e.payload)
                for e in db.session.scalars(select(Event).order_by(Event.id))]


def translate(vendor: Vendor, directory=None, **request) -> Translation:
    return vendor.translate(VendorRequest(**request), directory or NoDirectory())


def use_vendor(monkeypatch, vendor: Vendor) -> None:
    """Put ``vendor`` in the registry (its address, its Settings card) for this test."""
    monkeypatch.setitem(registry.BY_SLUG, vendor.slug, vendor)
    others = tuple(v for v in registry.VENDORS if v.slug != vendor.slug)
    monkeypatch.setattr(registry, "VENDORS", (*others, vendor))


# --- the demo vendor ---------------------------------------------------------------

def _demo_verify(req: VendorRequest, creds) -> None:
    token = req.param("token") or ""
    if not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), creds["DEMO_TOKEN"].encode()):
        raise BadAuth("неверный токен")


def _demo_translate(req: VendorRequest, directory) -> Translation:
    kind = req.param("kind")
    if kind == "ring":
        return Translation(note="звонок ещё идёт: не событие")
    if kind == "crash":
        raise RuntimeError("a bug in the adapter")
    if kind == "lookup":
        return Translation(reply=Reply.json({"name": directory.contact_name(req.param("phone") or "")}))
    call = req.param("call")
    if not call:
        raise BadBody("нет поля call")
    event = {"id": event_id("demo", call, req.param("to") or ""), "type": "call.ended", "call_id": call,
             "started_at": req.param("start") or "2026-11-25T10:15:03+03:00", "direction": "external",
             "routing": "direct", "from": req.param("from") or "", "to": req.param("to") or "",
             "result": req.param("result") or "no_answer"}
    events = [event]
    if kind == "twice":
        events.append({**event, "id": event["id"] + ":2", "to": req.param("to2") or ""})
    return Translation(events)


def _demo_probe(req: VendorRequest):
    echo = req.query.get("echo")
    return Reply(echo) if echo is not None else None


def _demo_file(address: str, creds) -> str:
    return f"url={address}\ntoken={creds['DEMO_TOKEN']}\n"


DEMO = Vendor(
    slug="demo", title="Демо-АТС",
    credentials=(Credential("DEMO_TOKEN", "Токен"),),
    verify=_demo_verify, translate=_demo_translate, probe=_demo_probe,
    redact=("token", "x-secret"), raw_headers=("x-call", "x-secret"),
    files=(VendorFile("demo.conf", "Скачать файл настроек", _demo_file, "text/plain"),),
    setup="Вставьте адрес в кабинет демо-АТС.", limits="Демо-АТС не отличает ничего ни от чего.",
)


# --- fuzzing an adapter's endpoint (hypothesis) ----------------------------------------

from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ALLOWED = {200, 202, 400, 401, 403, 404, 413, 415, 422}


def fuzz(examples: int):
    """Deterministic (CI-stable) hypothesis runs, as tests/test_events_fuzz.py."""
    return hypothesis_settings(max_examples=examples, deadline=None, derandomize=True,
                               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


any_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
phone_like = st.from_regex(r"\A[+8 ()\-0-9a-z*#]{0,24}\Z")
time_like = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.from_regex(r"\A\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}\Z"),
    st.integers(-2**40, 2**40).map(str),
)
field_values = st.one_of(any_text, phone_like, time_like, st.sampled_from(["", "0", "-1", "101", "null"]))


def form_of(keys, required: dict | None = None):
    """Forms over ``keys`` with odd values, merged over ``required`` (e.g. the right token)."""
    return st.dictionaries(st.sampled_from(list(keys)), field_values, max_size=len(keys)).map(
        lambda d: {**(required or {}), **d})


def assert_answer_ok(app, resp, slug: str) -> None:
    """A 2xx or clear 4xx for any input, and the adapter never tripping over it:
    no request of ``slug`` counted as the adapter's own error (an exception in
    its functions, or an invalid event it made)."""
    assert resp.status_code in ALLOWED, (resp.status_code, resp.get_data(as_text=True)[:300])
    st = pbx_status(app, slug)
    bugs = {o: n for o, n in st.counts.items() if o in (ERROR, INVALID)}
    assert not bugs, (bugs, st.last_detail, resp.get_data(as_text=True)[:300])
