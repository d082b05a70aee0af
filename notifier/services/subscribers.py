"""Employees (Subscriber): validation, create, update and delete.

One place for the rules the «Абоненты» screen, the API and the CSV import
share: the number is required and unique after normalisation, email is
checked for syntax only, Telegram is an @username. Functions change the
session and flush; the caller commits (a CSV import commits once for all
rows, so nothing is half-imported).
"""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import Rule, Subscriber
from notifier.services import people_fields as f

FIELDS = ("number", "name", "email", "telegram")
_CHECKS = {
    "name": lambda v: f.text(v, required=False, max_len=f.NAME_MAX),
    "email": f.email,
    "telegram": f.telegram,
}


def clean(data: Mapping, partial: bool = False) -> dict:
    """The values to store for ``data`` (pure). With ``partial`` only the
    fields present are checked (PATCH). Raises FieldErrors with every error."""
    values: dict = {}
    errors: dict[str, str] = {}
    if not partial or "number" in data:
        try:
            values["number"], values["number_key"] = f.number(data.get("number"))
        except f.FieldError as e:
            errors["number"] = str(e)
    for name, check in _CHECKS.items():
        if partial and name not in data:
            continue
        try:
            values[name] = check(data.get(name))
        except f.FieldError as e:
            errors[name] = str(e)
    if errors:
        raise FieldErrors(errors)
    return values


def label(subscriber: Subscriber) -> str:
    return f"«{subscriber.name}» ({subscriber.number})" if subscriber.name else subscriber.number


def get(subscriber_id: int) -> Subscriber | None:
    return db.session.get(Subscriber, subscriber_id)


def by_ids(ids: list[int]) -> list[Subscriber]:
    """The employees with these ids that exist, in the order given."""
    found = {s.id: s for s in db.session.scalars(select(Subscriber).where(Subscriber.id.in_(ids)))} if ids else {}
    return [found[i] for i in ids if i in found]


def telegram_linked() -> list[Subscriber]:
    """Employees whose Telegram chat is linked, by name (whom a test message can go to)."""
    return list(db.session.scalars(select(Subscriber).where(Subscriber.telegram_chat_id.is_not(None))
                                   .order_by(Subscriber.name, Subscriber.number)))


def by_key(key: str) -> Subscriber | None:
    return db.session.scalar(select(Subscriber).where(Subscriber.number_key == key))


def numbers_for_choice(limit: int = 200) -> list[Subscriber]:
    """The first employees by number, to suggest in a number field (a datalist)."""
    return list(db.session.scalars(select(Subscriber).order_by(Subscriber.number_key).limit(limit)))


def _check_unique(values: dict, current: Subscriber | None) -> None:
    key = values.get("number_key")
    if key is None:
        return
    other = by_key(key)
    if other is not None and other is not current:
        raise FieldErrors({"number": f"Этот номер уже есть у абонента {label(other)}"}, conflict=True)


def create(data: Mapping) -> Subscriber:
    values = clean(data)
    _check_unique(values, None)
    subscriber = Subscriber(**values)
    db.session.add(subscriber)
    _flush()
    return subscriber


def update(subscriber: Subscriber, data: Mapping, partial: bool = False) -> Subscriber:
    values = clean(data, partial=partial)
    _check_unique(values, subscriber)
    for name, value in values.items():
        setattr(subscriber, name, value)
    _flush()
    return subscriber


def rule_count(subscriber: Subscriber) -> int:
    return db.session.scalar(select(func.count(Rule.id)).where(Rule.subscriber_id == subscriber.id)) or 0


def rule_counts(ids: list[int]) -> dict[int, int]:
    """Rules per employee of a list page, in one query; employees without rules are absent."""
    if not ids:
        return {}
    rows = db.session.execute(select(Rule.subscriber_id, func.count(Rule.id))
                              .where(Rule.subscriber_id.in_(ids)).group_by(Rule.subscriber_id))
    return dict(rows.all())


def delete(subscriber: Subscriber) -> None:
    """Delete the employee and their rules (the log keeps the number)."""
    db.session.delete(subscriber)
    db.session.flush()


def _flush() -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise FieldErrors({"number": "Этот номер уже используется"}, conflict=True) from None


def commit() -> None:
    """Commit; a number taken meanwhile by a concurrent request is a conflict, not a 500."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise FieldErrors({"number": "Этот номер уже используется"}, conflict=True) from None


def to_json(subscriber: Subscriber) -> dict:
    return {
        "id": subscriber.id,
        "number": subscriber.number,
        "name": subscriber.name or "",
        "email": subscriber.email,
        "telegram": subscriber.telegram,
        "telegram_linked": subscriber.telegram_linked,
    }
