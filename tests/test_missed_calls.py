"""Callback state end to end: signed events through the real intake, Redis and
the shipped worker (run_jobs); the missed_calls rows they leave."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from notifier.extensions import db
from notifier.models import Event, MissedCall
from notifier.pipeline.processing import process_event
from notifier.services import missed_calls

from . import factories
from .notify_setup import run_jobs
from .webhook_signing import post_event

CLIENT = "+7 902 385-52-70"
KEY = "+79023855270"


def at(minute: int) -> str:
    return f"2026-11-25T10:{minute:02d}:00+03:00"


def utc(minute: int) -> datetime:
    return datetime(2026, 11, 25, 7, minute, tzinfo=timezone.utc)


def missed(event_id: str, minute: int, caller=CLIENT, to="102", **extra) -> dict:
    return factories.missed_call(event_id, caller=caller, to=to, started_at=at(minute), **extra)


def outgoing(event_id: str, minute: int, to=CLIENT, frm="103", result="answered") -> dict:
    return {"id": event_id, "type": "call.ended", "started_at": at(minute), "direction": "outgoing",
            "from": frm, "to": to, "result": result}


def incoming(event_id: str, minute: int, caller=CLIENT, to="104", result="answered") -> dict:
    return factories.missed_call(event_id, caller=caller, to=to, started_at=at(minute), result=result,
                                 routing="group")


def post_all(client, *payloads) -> None:
    for payload in payloads:
        assert post_event(client, payload).status_code == 202, payload


def rows() -> list[MissedCall]:
    db.session.expire_all()
    return list(db.session.scalars(select(MissedCall).order_by(MissedCall.missed_at, MissedCall.id)))


def state(row: MissedCall) -> tuple:
    return (row.status, row.resolved_how, row.resolved_by_number, row.resolved_at)


@pytest.fixture
def staff(app):
    """102 has no rule (nobody is notified), 103 and 104 are colleagues."""
    return {n: factories.subscriber(n, name=name, email=None).id
            for n, name in (("102", "Иванов Иван"), ("103", "Петров Пётр"), ("104", "Сидорова Анна"))}


def test_missed_then_outgoing_answered_is_called_back(app, client, staff):
    post_all(client, missed("m1", 0, caller="8 (902) 385 52 70"))
    run_jobs(app)
    [row] = rows()
    assert (row.status, row.caller, row.caller_key, row.subscriber_id, row.subscriber_number, row.missed_at,
            row.vip) == ("open", "8 (902) 385 52 70", KEY, staff["102"], "102", utc(0), False)

    post_all(client, outgoing("o1", 12, to="79023855270"))
    run_jobs(app)
    [row] = rows()
    assert state(row) == ("called_back", "outgoing", "103", utc(12))
    assert row.resolved_by_subscriber_id == staff["103"]
    assert row.resolved_event_id == db.session.scalar(select(Event.id).where(Event.event_id == "o1"))


def test_callers_later_incoming_call_answered_by_anyone(app, client, staff):
    post_all(client, missed("m1", 0), incoming("i1", 4, caller="9023855270", to="104"))
    run_jobs(app)
    [row] = rows()
    assert state(row) == ("called_back", "incoming", "104", utc(4))
    assert row.resolved_by_subscriber_id == staff["104"]


def test_unknown_callee_and_unknown_employee_are_still_tracked(app, client):
    post_all(client, missed("m1", 0, to="555"), outgoing("o1", 9, frm="777"))
    run_jobs(app)
    [row] = rows()
    assert (row.subscriber_id, row.subscriber_number) == (None, "555")
    assert state(row) == ("called_back", "outgoing", "777", utc(9)) and row.resolved_by_subscriber_id is None


def test_what_does_not_call_back(app, client, staff):
    post_all(client,
             outgoing("o0", 0),  # before the missed call
             missed("m1", 5),
             outgoing("o1", 6, result="no_answer"),
             outgoing("o2", 7, to="+7 902 385-52-71"),  # another number
             incoming("i1", 8, result="answered_elsewhere"),
             missed("m2", 9, caller="anonymous"),
             incoming("i2", 10, caller=""),  # a hidden caller answered: matches no hidden missed call
             factories.missed_call("c1", started_at=at(11), result="caller_hangup"))  # opens nothing
    run_jobs(app)
    assert [(r.status, r.caller_key) for r in rows()] == [("open", KEY), ("open", None)]


def test_repeat_missed_calls_open_rows_and_one_callback_closes_them_all(app, client, staff):
    post_all(client, missed("m1", 0), missed("m2", 5))
    run_jobs(app)
    assert [r.status for r in rows()] == ["open", "open"]
    post_all(client, outgoing("o1", 9), missed("m3", 15))
    run_jobs(app)
    assert [state(r) for r in rows()] == [("called_back", "outgoing", "103", utc(9))] * 2 + [
        ("open", None, None, None)]


def test_callback_processed_before_the_missed_call(app, client, staff):
    """The PBX reports the missed call late: the callback stored before still counts."""
    post_all(client, outgoing("o1", 12), outgoing("o2", 20, frm="104"))
    run_jobs(app)
    assert rows() == []
    post_all(client, missed("m1", 0))
    run_jobs(app)
    [row] = rows()
    assert state(row) == ("called_back", "outgoing", "103", utc(12))
    assert row.resolved_by_subscriber_id == staff["103"]


def test_vip_at_the_time_of_the_call(app, client, staff):
    factories.contact("ООО Ромашка", "89023855270", vip=True)
    post_all(client, missed("m1", 0))
    run_jobs(app)
    assert [r.vip for r in rows()] == [True]


def test_redelivery_and_rerun_change_nothing(app, client, staff):
    calls = []
    missed_calls.on_change(calls.append)
    try:
        post_all(client, missed("m1", 0))
        assert post_event(client, missed("m1", 0)).status_code == 200
        run_jobs(app)
        post_all(client, outgoing("o1", 12))
        run_jobs(app)
        [row] = rows()
        assert calls == [[row.id]]  # told once, after the commit
        for pk in db.session.scalars(select(Event.id)):
            assert process_event(pk) == "already processed"
        # even with the processed mark cleared, the unique event_id stops a second row
        event = db.session.scalar(select(Event).where(Event.event_id == "m1"))
        event.processed_at = None
        db.session.commit()
        assert process_event(event.id) == "already processed"
        assert [state(r) for r in rows()] == [("called_back", "outgoing", "103", utc(12))]
        assert calls == [[row.id]]
    finally:
        missed_calls._listeners.remove(calls.append)


def test_a_failing_listener_does_not_fail_the_job(app, client, staff):
    def broken(ids):
        raise RuntimeError("boom")

    missed_calls.on_change(broken)
    try:
        post_all(client, missed("m1", 0), outgoing("o1", 12))
        run_jobs(app)
    finally:
        missed_calls._listeners.remove(broken)
    assert [r.status for r in rows()] == ["called_back"]


def test_time_to_callback_is_kept_exact(app, client, staff):
    post_all(client, missed("m1", 0), outgoing("o1", 42))
    run_jobs(app)
    [row] = rows()
    assert row.resolved_at - row.missed_at == timedelta(minutes=42)


def test_callback_stored_but_not_yet_processed_counts(app, staff):
    """Two workers at once: the callback's event is stored (not processed) when the
    missed call is; the missed call finds it, and processing the callback later changes nothing."""
    from notifier.pipeline.processing import process_event

    calls = []
    missed_calls.on_change(calls.append)
    try:
        callback = factories.event(outgoing("o1", 12))
        missed_event = factories.event(missed("m1", 0))
        process_event(missed_event.id)
        [row] = rows()
        assert state(row) == ("called_back", "outgoing", "103", utc(12)) and row.resolved_event_id == callback.id
        assert calls == [[row.id]]
        process_event(callback.id)
        assert [state(r) for r in rows()] == [("called_back", "outgoing", "103", utc(12))]
        assert calls == [[row.id]]
    finally:
        missed_calls._listeners.remove(calls.append)


def test_deleting_an_employee_keeps_the_missed_calls(app, client, staff):
    post_all(client, missed("m1", 0), outgoing("o1", 5))
    run_jobs(app)
    from notifier.models import Subscriber

    for number in ("102", "103"):
        db.session.delete(db.session.scalar(select(Subscriber).where(Subscriber.number == number)))
    db.session.commit()
    [row] = rows()
    assert (row.subscriber_id, row.subscriber_number, row.resolved_by_subscriber_id, row.resolved_by_number) == (
        None, "102", None, "103")
    assert row.status == "called_back"
