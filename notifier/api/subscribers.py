"""/api/v1/subscribers: PBX employees (api.md "Subscribers").

Validation and uniqueness live in notifier.services.subscribers, shared with
the «Абоненты» screen and the CSV import. The Telegram link endpoints are in
notifier.api.telegram.
"""
from __future__ import annotations

from flask import request

from notifier.services import subscriber_search
from notifier.services import subscribers as service
from notifier.extensions import db
from notifier.models import Subscriber
from notifier.services.people_fields import query
from notifier.api import ApiError, bp, json_body, saving


def get_or_404(subscriber_id: int) -> Subscriber:
    """The subscriber, or the API's 404 (also used by the Telegram link endpoints)."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise ApiError(404, "абонент не найден")
    return subscriber


@bp.get("/subscribers")
def subscribers_list():
    found = db.session.scalars(subscriber_search.search(query(request.args.get("q"))))
    return {"items": [service.to_json(s) for s in found]}


@bp.post("/subscribers")
def subscribers_create():
    data = json_body()
    with saving(service.commit):
        subscriber = service.create(data)
    return service.to_json(subscriber), 201


@bp.get("/subscribers/<int:subscriber_id>")
def subscribers_get(subscriber_id: int):
    return service.to_json(get_or_404(subscriber_id))


@bp.patch("/subscribers/<int:subscriber_id>")
def subscribers_update(subscriber_id: int):
    subscriber = get_or_404(subscriber_id)
    data = json_body()
    with saving(service.commit):
        service.update(subscriber, data, partial=True)
    return service.to_json(subscriber)


@bp.delete("/subscribers/<int:subscriber_id>")
def subscribers_delete(subscriber_id: int):
    service.delete(get_or_404(subscriber_id))
    db.session.commit()
    return "", 204
