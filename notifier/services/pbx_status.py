"""How each PBX's requests went: counters per (vendor, outcome) and the last
request's time and detail, for «Подключение АТС» in Settings.

Cheap on the hot path and exact under concurrency: one ``UPDATE ... SET count
= count + 1`` per request on its own short transaction (an INSERT the first
time). Recording never fails a request: a database hiccup here is logged and
the request's own answer stands.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from notifier.extensions import db
from notifier.models import PbxRequest, utcnow
from notifier.pbx.base import OUTCOMES

log = logging.getLogger(__name__)

MAX_DETAIL = 200
_TABLE = PbxRequest.__table__


def _clean(detail: str) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in (detail or ""))
    return text.strip()[:MAX_DETAIL]


def record(vendor: str, outcome: str, detail: str = "", now: datetime | None = None) -> None:
    """Count one request of ``vendor`` that ended in ``outcome`` (base.OUTCOMES)."""
    values = {"last_at": now or utcnow(), "last_detail": _clean(detail)}
    bump = (update(_TABLE).where(_TABLE.c.vendor == vendor, _TABLE.c.outcome == outcome)
            .values(count=_TABLE.c.count + 1, **values))
    try:
        for _ in range(2):
            try:
                with db.engine.begin() as conn:
                    if conn.execute(bump).rowcount:
                        return
                    conn.execute(insert(_TABLE).values(vendor=vendor, outcome=outcome, count=1, **values))
                    return
            except IntegrityError:  # a concurrent first request inserted the row: bump it
                continue
    except SQLAlchemyError:
        log.exception("cannot record a %s request's outcome %s", vendor, outcome)


@dataclass
class VendorStatus:
    """A vendor's requests so far: counts per outcome and the last one."""

    counts: dict[str, int] = field(default_factory=dict)
    last_at: datetime | None = None
    last_outcome: str | None = None
    last_detail: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def last_label(self) -> str:
        return OUTCOMES.get(self.last_outcome or "", (self.last_outcome or "", ""))[0]

    @property
    def last_tone(self) -> str:
        return OUTCOMES.get(self.last_outcome or "", ("", ""))[1]

    def count_labels(self) -> list[tuple[str, int]]:
        """(label, count) in the order of base.OUTCOMES, only those that happened."""
        return [(label, self.counts[o]) for o, (label, _) in OUTCOMES.items() if self.counts.get(o)]


def statuses() -> dict[str, VendorStatus]:
    """Every vendor's status, by slug (a vendor never heard from is absent)."""
    result: dict[str, VendorStatus] = {}
    for row in db.session.execute(select(PbxRequest)).scalars():
        st = result.setdefault(row.vendor, VendorStatus())
        st.counts[row.outcome] = row.count
        if st.last_at is None or row.last_at > st.last_at:
            st.last_at, st.last_outcome, st.last_detail = row.last_at, row.outcome, row.last_detail
    return result
