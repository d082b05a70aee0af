"""Mango Office's thin plumbing: a call's notifications kept between requests.

Mango sends one call as many requests (each leg's Appeared / Connected /
Disconnected, then ``events/summary``), in parallel and possibly out of order;
the pure translation (notifier.pbx.mango) can only tell who missed the call
once it has the summary and each employee's legs. So every ``events/call`` and
``events/summary`` request is kept as one row of ``mango_notifications``, and
then all the rows of that call are translated together; the plumbing
(notifier.api.pbx) hands what comes out to the intake, which keeps each event
id once.

Why rows in the database (not Redis, not one row per call):

- the row is committed before Mango gets its 200, like every stored event, so
  a restart or a Redis outage between a leg and the summary loses nothing;
- rows are only ever inserted, unique per (call, leg, seq): a redelivery adds
  nothing, and two requests of one call at once never overwrite each other.
  Each request reads the call's rows after committing its own, so whichever
  request commits last sees them all: no request's contribution is missed,
  without locks. Two requests that both make an event make the same id; the
  intake keeps one;
- rows older than ``RETENTION`` are deleted when a summary comes in (a call is
  long over by then; a late copy of a request makes no second event either,
  its ids being taken).
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from notifier.extensions import db
from notifier.models import MangoNotification, utcnow
from notifier.pbx import mango
from notifier.pbx.base import ERROR, AdapterError, Directory, Translation, VendorRequest
from notifier.pbx.mango import Note

log = logging.getLogger(__name__)

RETENTION = timedelta(days=3)
_TABLE = MangoNotification.__table__
_INSERT = insert(_TABLE)


class StoreUnavailable(AdapterError):
    """The database is down: Mango should send the notification again later."""

    status = 503
    outcome = ERROR


def keep(note: Note) -> list[Note]:
    """Store ``note`` (once) and return all the notes of its call, oldest leg state first."""
    now = utcnow()
    try:
        with db.engine.begin() as conn:
            conn.execute(_INSERT, {"entry_id": note.entry_id, "call_id": note.call_id, "seq": note.seq,
                                   "data": dict(note.data), "received_at": now})
    except IntegrityError:
        pass  # this notification was kept before: a redelivery, or a copy that came at the same time
    with db.engine.begin() as conn:
        if note.kind == mango.SUMMARY:
            conn.execute(delete(_TABLE).where(_TABLE.c.received_at < now - RETENTION))
        rows = conn.execute(select(_TABLE.c.call_id, _TABLE.c.seq, _TABLE.c.data)
                            .where(_TABLE.c.entry_id == note.entry_id)
                            .order_by(_TABLE.c.call_id, _TABLE.c.seq)).all()
    return [Note(note.entry_id, row.call_id, row.seq, row.data) for row in rows]


def translate(req: VendorRequest, directory: Directory) -> Translation:
    """Mango's ``translate`` (``mango.VENDOR`` calls it): read the request, keep it
    with its call's other notes, and translate them all."""
    read = mango.read(req)
    if isinstance(read, Translation):
        return read
    try:
        notes = keep(read)
    except SQLAlchemyError:
        log.exception("cannot keep a Mango notification of call %s", read.entry_id)
        raise StoreUnavailable("база данных недоступна, повторите позже") from None
    events, note = mango.events(notes)
    return Translation(events, reply=mango.OK, note=note)
