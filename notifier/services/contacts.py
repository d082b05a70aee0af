"""Client notebook (Contact + ContactNumber): validation, create, update, delete.

Shared by «Записная книжка клиентов», the API and the CSV import. A contact
has a name, one or more numbers and a VIP flag; a number belongs to at most
one contact (ContactNumber.number_key is unique), so the VIP criterion and
caller names are never ambiguous. Functions flush; the caller commits.
"""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import Contact, ContactNumber
from notifier.services import people_fields as f

FIELDS = ("name", "numbers", "vip")
MAX_NUMBERS = 20


def clean_numbers(raw) -> list[tuple[str, str]]:
    """[(number as typed, key)] from a list of strings (pure). Blank entries
    are skipped (empty form rows) but errors keep the entry's index, so the
    form shows them next to the right field: keys ``numbers.<index>``."""
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise FieldErrors({"numbers": "Нужен список номеров"})
    errors: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for index, value in enumerate(raw):
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            pair = f.number(value)
        except f.FieldError as e:
            errors[f"numbers.{index}"] = str(e)
            continue
        if pair[1] in seen:
            errors[f"numbers.{index}"] = "Этот номер уже указан выше"
            continue
        seen[pair[1]] = index
        pairs.append(pair)
    if not errors and not pairs:
        errors["numbers"] = "Укажите хотя бы один номер"
    if len(pairs) > MAX_NUMBERS:
        errors["numbers"] = f"Не больше {MAX_NUMBERS} номеров у одного контакта"
    if errors:
        raise FieldErrors(errors)
    return pairs


def clean(data: Mapping, partial: bool = False) -> dict:
    """The values to store for ``data`` (pure); raises FieldErrors with every error."""
    values: dict = {}
    errors: dict[str, str] = {}
    if not partial or "name" in data:
        try:
            values["name"] = f.text(data.get("name"), required=True, max_len=f.NAME_MAX, missing="Укажите имя")
        except f.FieldError as e:
            errors["name"] = str(e)
    if not partial or "numbers" in data:
        try:
            values["numbers"] = clean_numbers(data.get("numbers"))
        except FieldErrors as e:
            errors.update(e.errors)
    if not partial or "vip" in data:
        try:
            values["vip"] = f.flag(data.get("vip"))
        except f.FieldError as e:
            errors["vip"] = str(e)
    if errors:
        raise FieldErrors(errors)
    return values


def get(contact_id: int) -> Contact | None:
    return db.session.get(Contact, contact_id)


def owners(keys: list[str]) -> dict[str, Contact]:
    """The contacts that already have these numbers, by key."""
    if not keys:
        return {}
    rows = db.session.scalars(select(ContactNumber).where(ContactNumber.number_key.in_(keys)))
    return {row.number_key: row.contact for row in rows}


def _check_unique(values: dict, current: Contact | None) -> None:
    pairs = values.get("numbers")
    if not pairs:
        return
    taken = owners([key for _, key in pairs])
    errors = {}
    for index, (raw, key) in enumerate(pairs):
        other = taken.get(key)
        if other is not None and other is not current:
            errors[f"numbers.{index}"] = f"Номер {raw} уже есть у контакта «{other.name}»"
    if errors:
        raise FieldErrors(_reindex(errors, values.get("_positions")), conflict=True)


def _reindex(errors: dict, positions: list[int] | None) -> dict:
    """Errors keyed by the index in the list as sent (blank rows included)."""
    if not positions:
        return errors
    out = {}
    for key, message in errors.items():
        index = int(key.split(".", 1)[1])
        out[f"numbers.{positions[index]}"] = message
    return out


def _set_numbers(contact: Contact, pairs: list[tuple[str, str]]) -> None:
    """Make the contact's numbers exactly ``pairs``; rows whose key stays are
    kept (so re-saving never deletes and re-inserts a unique key)."""
    existing = {n.number_key: n for n in contact.numbers}
    wanted = {key for _, key in pairs}
    for key, row in existing.items():
        if key not in wanted:
            contact.numbers.remove(row)
    db.session.flush()
    for position, (raw, key) in enumerate(pairs):
        row = existing.get(key)
        if row is None:
            contact.numbers.append(ContactNumber(number=raw, number_key=key, position=position))
        else:
            row.number, row.position = raw, position


def _positions(data: Mapping) -> list[int] | None:
    """Index in the sent list of each non-blank number (for error keys)."""
    raw = data.get("numbers")
    if not isinstance(raw, list):
        return None
    return [i for i, v in enumerate(raw) if not (v is None or (isinstance(v, str) and not v.strip()))]


def create(data: Mapping) -> Contact:
    values = clean(data)
    values["_positions"] = _positions(data)
    _check_unique(values, None)
    contact = Contact(name=values["name"], vip=values["vip"])
    db.session.add(contact)
    _set_numbers(contact, values["numbers"])
    _flush()
    db.session.expire(contact, ["numbers"])  # reload in position order
    return contact


def update(contact: Contact, data: Mapping, partial: bool = False) -> Contact:
    values = clean(data, partial=partial)
    values["_positions"] = _positions(data)
    _check_unique(values, contact)
    if "name" in values:
        contact.name = values["name"]
    if "vip" in values:
        contact.vip = values["vip"]
    if "numbers" in values:
        _set_numbers(contact, values["numbers"])
    _flush()
    db.session.expire(contact, ["numbers"])  # reload in position order
    return contact


def delete(contact: Contact) -> None:
    db.session.delete(contact)
    db.session.flush()


def _conflict() -> FieldErrors:
    return FieldErrors({"numbers": "Один из номеров уже есть у другого контакта"}, conflict=True)


def _flush() -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise _conflict() from None


def commit() -> None:
    """Commit; a number taken meanwhile by a concurrent request is a conflict, not a 500."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _conflict() from None


def to_json(contact: Contact) -> dict:
    return {
        "id": contact.id,
        "name": contact.name,
        "numbers": [n.number for n in contact.numbers],
        "vip": contact.vip,
    }
