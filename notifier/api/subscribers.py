"""/api/v1/subscribers: PBX employees (api.md "Subscribers").

Validation and uniqueness live in notifier.services.subscribers, shared with
the «Абоненты» screen and the CSV import; its FieldErrors become 422/409 in
the API's error handler. The Telegram link endpoints are in notifier.api.telegram.
"""
from __future__ import annotations

from flask import request

from notifier.api import ApiError, bp, json_body
from notifier.extensions import db
from notifier.models import Subscriber
from notifier.services import subscriber_search
from notifier.services import subscribers as service
from notifier.services.people_fields import query


def get_or_404(subscriber_id: int) -> Subscriber:
    """The subscriber, or the API's 404 (also used by the Telegram link endpoints)."""
    subscriber = service.get(subscriber_id)
    if subscriber is None:
        raise ApiError(404, "абонент не найден")
    return subscriber


@bp.get("/subscribers")
def subscribers_list():
    found = subscriber_search.find(query(request.args.get("q")))
    return {"items": [service.to_json(s) for s in found]}


@bp.post("/subscribers")
def subscribers_create():
    subscriber = service.create(json_body())
    service.commit()
    return service.to_json(subscriber), 201


@bp.get("/subscribers/<int:subscriber_id>")
def subscribers_get(subscriber_id: int):
    return service.to_json(get_or_404(subscriber_id))


@bp.patch("/subscribers/<int:subscriber_id>")
def subscribers_update(subscriber_id: int):
    subscriber = get_or_404(subscriber_id)
    service.update(subscriber, json_body(), partial=True)
    service.commit()
    return service.to_json(subscriber)


@bp.delete("/subscribers/<int:subscriber_id>")
def subscribers_delete(subscriber_id: int):
    service.delete(get_or_404(subscriber_id))
    db.session.commit()
    return "", 204
