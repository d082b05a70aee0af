"""Marks about calls a PBX reports over several requests (table ``pbx_call_marks``).

Zadarma says which extension rings in one request (``NOTIFY_INTERNAL``) and
how the call ended in another (``NOTIFY_END``); the adapter's pure decision
takes the marks noted so far and gives back new ones, and this module keeps
them in between. The database, not Redis: a 2xx to the PBX means what it said
is kept through a Redis outage or a restart, as for an event. Each mark is its
own row (inserting one already there is a no-op), so requests of one call
arriving together never lose each other's marks; each note commits at once
(the PBX's answer follows). Marks older than ``KEEP`` are pruned as new ones
are noted: a call's requests come within minutes, and a redelivery after that
only repeats event ids already stored.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from notifier.extensions import db
from notifier.models import PbxCallMark, utcnow

KEEP = timedelta(days=2)
_TABLE = PbxCallMark.__table__


def marks(vendor: str, call_id: str) -> frozenset[str]:
    rows = db.session.execute(select(_TABLE.c.mark).where(_TABLE.c.vendor == vendor, _TABLE.c.call_id == call_id))
    return frozenset(rows.scalars())


def note(vendor: str, call_id: str, mark: str, now: datetime | None = None) -> None:
    """Keep ``mark`` for the call (committed); already kept is fine."""
    now = now or utcnow()
    try:
        db.session.execute(insert(_TABLE).values(vendor=vendor, call_id=call_id, mark=mark, created_at=now))
        db.session.commit()
    except IntegrityError:  # the same request again, or its twin at the same moment
        db.session.rollback()
    db.session.execute(delete(_TABLE).where(_TABLE.c.created_at < now - KEEP))
    db.session.commit()
