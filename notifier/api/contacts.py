"""/api/v1/contacts: the client notebook (api.md "Client notebook").

Validation and uniqueness live in notifier.services.contacts, shared with the
«Записная книжка клиентов» screen and the CSV import.
"""
from __future__ import annotations

from flask import request

from notifier.services import contact_search
from notifier.services import contacts as service
from notifier.extensions import db
from notifier.models import Contact
from notifier.services.people_fields import query
from notifier.api import ApiError, bp, json_body, saving


def _get(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise ApiError(404, "контакт не найден")
    return contact


@bp.get("/contacts")
def contacts_list():
    found = db.session.scalars(contact_search.search(query(request.args.get("q"))))
    return {"items": [service.to_json(c) for c in found]}


@bp.post("/contacts")
def contacts_create():
    data = json_body()
    with saving(service.commit):
        contact = service.create(data)
    return service.to_json(contact), 201


@bp.get("/contacts/<int:contact_id>")
def contacts_get(contact_id: int):
    return service.to_json(_get(contact_id))


@bp.patch("/contacts/<int:contact_id>")
def contacts_update(contact_id: int):
    contact = _get(contact_id)
    data = json_body()
    with saving(service.commit):
        service.update(contact, data, partial=True)
    return service.to_json(contact)


@bp.delete("/contacts/<int:contact_id>")
def contacts_delete(contact_id: int):
    service.delete(_get(contact_id))
    db.session.commit()
    return "", 204
