"""/api/v1/contacts: the client notebook (api.md "Client notebook").

Validation and uniqueness live in notifier.services.contacts, shared with the
«Записная книжка клиентов» screen and the CSV import; its FieldErrors become
422/409 in the API's error handler.
"""
from __future__ import annotations

from flask import request

from notifier.api import ApiError, bp, json_body
from notifier.extensions import db
from notifier.models import Contact
from notifier.services import contact_search
from notifier.services import contacts as service
from notifier.services.people_fields import query


def _get(contact_id: int) -> Contact:
    contact = service.get(contact_id)
    if contact is None:
        raise ApiError(404, "контакт не найден")
    return contact


@bp.get("/contacts")
def contacts_list():
    found = contact_search.find(query(request.args.get("q")))
    return {"items": [service.to_json(c) for c in found]}


@bp.post("/contacts")
def contacts_create():
    contact = service.create(json_body())
    service.commit()
    return service.to_json(contact), 201


@bp.get("/contacts/<int:contact_id>")
def contacts_get(contact_id: int):
    return service.to_json(_get(contact_id))


@bp.patch("/contacts/<int:contact_id>")
def contacts_update(contact_id: int):
    contact = _get(contact_id)
    service.update(contact, json_body(), partial=True)
    service.commit()
    return service.to_json(contact)


@bp.delete("/contacts/<int:contact_id>")
def contacts_delete(contact_id: int):
    service.delete(_get(contact_id))
    db.session.commit()
    return "", 204
