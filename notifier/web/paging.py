"""Page-by-page lists for the screens (a ?page= argument that never errors)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select

from notifier.extensions import db

PER_PAGE = 50


@dataclass
class Page:
    items: list
    number: int
    pages: int
    total: int
    per_page: int

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)


def paginate(stmt: Select, page_arg: str | None, per_page: int = PER_PAGE) -> Page:
    """One page of ``stmt``; a bad or out-of-range page number shows the nearest page."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    try:
        number = int(page_arg or 1)
    except ValueError:
        number = 1
    number = min(max(number, 1), pages)
    items = list(db.session.scalars(stmt.limit(per_page).offset((number - 1) * per_page)).unique())
    return Page(items, number, pages, total, per_page)
