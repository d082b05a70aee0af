"""/api/v1/events (GET): the event log (events.md "The event log", api.md "Event log").

``GET /api/v1/events/{id}`` takes the PBX's event id, the contract's id. The row's
numeric ``pk`` (also in every answer) is deliberately not accepted in its place: a
PBX id may itself be digits, and "is event 12 here?" must never answer with another
event. ``GET /api/v1/events`` lists newest first, ``{"items": [...], "next_before": pk|null}``;
filters: ``subscriber`` (id), ``employee`` (search text), ``caller`` (number in any
notation), ``status`` (processing, pending, failed, notified, skipped, not_notified),
``before`` (a pk, for the next page), ``limit`` (1-200, default 50).
"""
from __future__ import annotations

from flask import request

from notifier.api import ApiError, bp
from notifier.core.fielderrors import FieldErrors
from notifier.services import event_log


@bp.get("/events")
def list_events():
    filters, errors = event_log.parse_filters(request.args)
    if errors:
        raise FieldErrors(errors)
    page = event_log.recent(filters)
    return {"items": [entry.to_json() for entry in page.entries], "next_before": page.next_before}


@bp.get("/events/<path:event_id>")
def get_event(event_id: str):
    entry = event_log.by_event_id(event_id)
    if entry is None:
        raise ApiError(404, "событие не найдено")
    return entry.to_json(payload=True)
