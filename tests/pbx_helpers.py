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
    BadAuth, BadBody, Credential, NoDirectory, Reply, Translation, Vendor, VendorFile, VendorRequest, event_id,
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
