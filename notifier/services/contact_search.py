"""Finding clients in the notebook by what an admin types: part of the name or
of any of their numbers. The contact twin of notifier.services.subscriber_search (same
rules: case-insensitive name, digits also matched against the canonical key,
a leading Russian «8» read as «+7»)."""
from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from notifier.extensions import db
from notifier.models import Contact, ContactNumber
from notifier.services.subscriber_search import _NON_DIGITS, MAX_QUERY, _like


def matching(query: str | None):
    """The SQL condition a search box query stands for, or None for "everyone"."""
    text = (query or "").strip()[:MAX_QUERY]
    if not text:
        return None
    pattern = _like(text.lower())
    number_conditions = [ContactNumber.number.like(pattern, escape="\\")]
    digits = _NON_DIGITS.sub("", text)
    if digits:
        number_conditions.append(ContactNumber.number_key.like(_like(digits), escape="\\"))
        if digits.startswith("8") and len(digits) > 1:
            number_conditions.append(ContactNumber.number_key.like(_like("7" + digits[1:]), escape="\\"))
    return or_(func.lower(Contact.name).like(pattern, escape="\\"), Contact.numbers.any(or_(*number_conditions)))


def search(query: str | None, vip_only: bool = False) -> Select:
    """Contacts matching ``query``, ordered by name."""
    stmt = select(Contact).options(selectinload(Contact.numbers)).order_by(Contact.name, Contact.id)
    condition = matching(query)
    if condition is not None:
        stmt = stmt.where(condition)
    if vip_only:
        stmt = stmt.where(Contact.vip.is_(True))
    return stmt


def find(query: str | None, vip_only: bool = False) -> list[Contact]:
    """The contacts :func:`search` selects."""
    return list(db.session.scalars(search(query, vip_only)))
