"""Finding employees by what an admin types: part of a number, name, email or
Telegram account. One place, used by «Абоненты», the rule dialog and the API."""
from __future__ import annotations

import re

from sqlalchemy import Select, func, or_, select

from notifier.extensions import db
from notifier.models import Subscriber

_NON_DIGITS = re.compile(r"\D+")
MAX_QUERY = 100


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching(query: str | None):
    """The SQL condition a search box query stands for, or None for "everyone".

    Letters match name, email and Telegram case-insensitively; digits also match
    anywhere in the number as typed and in its canonical form, so «385 52» finds
    «+7 902 385-52-70».
    """
    text = (query or "").strip()[:MAX_QUERY]
    if not text:
        return None
    pattern = _like(text.lower())
    conditions = [
        func.lower(Subscriber.name).like(pattern, escape="\\"),
        func.lower(Subscriber.email).like(pattern, escape="\\"),
        func.lower(Subscriber.telegram).like(_like(text.lower().lstrip("@")), escape="\\"),
        Subscriber.number.like(pattern, escape="\\"),
    ]
    digits = _NON_DIGITS.sub("", text)
    if digits:
        conditions.append(Subscriber.number_key.like(_like(digits), escape="\\"))
        if digits.startswith("8") and len(digits) > 1:  # 8 902... is +7 902... in Russia
            conditions.append(Subscriber.number_key.like(_like("7" + digits[1:]), escape="\\"))
    return or_(*conditions)


def search(query: str | None) -> Select:
    """Subscribers matching ``query``, ordered by name then number."""
    stmt = select(Subscriber).order_by(Subscriber.name, Subscriber.number_key)
    condition = matching(query)
    return stmt if condition is None else stmt.where(condition)


def find(query: str | None, limit: int | None = None) -> list[Subscriber]:
    """The subscribers :func:`search` selects, at most ``limit`` of them."""
    stmt = search(query)
    return list(db.session.scalars(stmt if limit is None else stmt.limit(limit)))
