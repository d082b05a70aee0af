"""process_event: the contract's examples and the rules of events.md "Who is
notified", judged on stored events against a real database; decisions and
deliveries counted exactly; re-runs create nothing twice; bounded queries."""
from __future__ import annotations

from functools import partial

import pytest
from rq import Queue
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from notifier.core.workhours import Schedule
from notifier.extensions import db
from notifier.models import Decision, Delivery, Event
from notifier.pipeline.processing import process_event
from notifier.runtime.redis_conn import get_redis
from notifier.services import settings

from . import factories
from .webhook_signing import example, post_event

MISSED = {"types": ["missed_calls"]}
VOICE = {"types": ["voicemail"]}
BOTH = {"types": ["missed_calls", "voicemail"]}


def rule(types=("missed_calls",), time=None, callers=None) -> dict:
    body = {"types": list(types)}
    if time:
        body["time"] = time
    if callers:
        body["callers"] = callers
    return body


employee = partial(factories.subscriber, name="Иван", email="ivan@example.com", chat_id=555, telegram="@ivan")


def outcome(pk: int) -> tuple[list[tuple], list[tuple]]:
    decisions = db.session.execute(
        select(Decision.subscriber_id, Decision.subscriber_number, Decision.notify, Decision.reason)
        .where(Decision.event_id == pk)).all()
    deliveries = db.session.execute(
        select(Delivery.channel, Delivery.status, Delivery.address, Delivery.subscriber_id)
        .where(Delivery.event_id == pk).order_by(Delivery.channel)).all()
    return [tuple(d) for d in decisions], [tuple(d) for d in deliveries]


def at(moment: str, base: str = "missed-internal", **changes) -> dict:
    payload = example(base)
    payload.update(started_at=moment, **changes)
    payload.pop("ended_at", None)
    return payload


EXTERNAL = "missed-external-direct"  # from +7 902 385-52-70
# 2026-11-25 is a Wednesday; 2026-11-28 a Saturday; 2026-11-04 a Russian public holiday (Wednesday).
CASES = [
    # (id, payload, rules of subscriber 102, contacts, expected reason)
    ("example missed internal", example("missed-internal"), [MISSED], [], "notify"),
    ("example missed external direct", example(EXTERNAL), [MISSED], [], "notify"),
    ("example caller hung up", example("caller-hung-up"), [BOTH], [], "caller_hangup"),
    ("example voicemail", example("voicemail"), [VOICE], [], "notify"),
    ("external via group", dict(example(EXTERNAL), routing="group"), [MISSED], [], "not_direct"),
    ("answered", dict(example("missed-internal"), result="answered"), [MISSED], [], "not_missed"),
    ("busy", dict(example("missed-internal"), result="busy"), [MISSED], [], "not_missed"),
    ("rejected", dict(example("missed-internal"), result="rejected"), [MISSED], [], "not_missed"),
    ("answered elsewhere", dict(example(EXTERNAL), result="answered_elsewhere"), [MISSED], [], "not_missed"),
    ("unavailable", dict(example("missed-internal"), result="unavailable"), [MISSED], [], "not_missed"),
    ("failed", dict(example("missed-internal"), result="failed"), [MISSED], [], "not_missed"),
    ("no rule", example("missed-internal"), [], [], "no_rule"),
    ("voicemail rule, missed call", example("missed-internal"), [VOICE], [], "type_not_selected"),
    ("missed rule, voicemail", example("voicemail"), [MISSED], [], "type_not_selected"),
    ("work hours, inside", at("2026-11-25T10:15:03+03:00"),
     [rule(time={"mode": "work_hours"})], [], "notify"),
    ("work hours, evening", at("2026-11-25T21:05:00+03:00"),
     [rule(time={"mode": "work_hours"})], [], "outside_work_hours"),
    ("work hours, Saturday", at("2026-11-28T12:01:40+03:00"),
     [rule(time={"mode": "work_hours"})], [], "outside_work_hours"),
    ("work hours, public holiday", at("2026-11-04T11:00:00+03:00"),
     [rule(time={"mode": "work_hours"})], [], "outside_work_hours"),
    ("work hours, UTC offset in the event", at("2026-11-25T07:30:00Z"),  # 10:30 in Moscow
     [rule(time={"mode": "work_hours"})], [], "notify"),
    ("off hours, inside", at("2026-11-25T10:15:03+03:00"),
     [rule(time={"mode": "off_hours"})], [], "inside_work_hours"),
    ("off hours, night", at("2026-11-25T23:30:00+03:00"),
     [rule(time={"mode": "off_hours"})], [], "notify"),
    ("period across midnight", at("2026-11-29T01:00:00+03:00"),  # Sunday 01:00 = Saturday night
     [rule(time={"mode": "period", "period": {"weekdays": ["sat"], "from": "22:00", "to": "06:00"}})],
     [], "notify"),
    ("period, wrong weekday", at("2026-11-25T23:00:00+03:00"),
     [rule(time={"mode": "period", "period": {"weekdays": ["sat"], "from": "22:00", "to": "06:00"}})],
     [], "outside_period"),
    ("period, date range", at("2026-12-05T12:00:00+03:00"),
     [rule(time={"mode": "period", "period": {"start_date": "2026-12-01", "end_date": "2026-12-31"}})],
     [], "notify"),
    ("period, before the dates", at("2026-11-25T12:00:00+03:00"),
     [rule(time={"mode": "period", "period": {"start_date": "2026-12-01", "end_date": "2026-12-31"}})],
     [], "outside_period"),
    ("time never filters voicemail", example("voicemail"),  # 21:05
     [rule(types=("voicemail", "missed_calls"), time={"mode": "work_hours"}, callers={"mode": "vip"})],
     [], "notify"),
    ("listed, other notation", example(EXTERNAL),
     [rule(callers={"mode": "listed", "numbers": ["89023855270"]})], [], "notify"),
    ("listed, not listed", example(EXTERNAL),
     [rule(callers={"mode": "listed", "numbers": ["+7 902 385-52-71"]})], [], "number_not_listed"),
    ("listed extension", example("missed-internal"),
     [rule(callers={"mode": "listed", "numbers": ["101"]})], [], "notify"),
    ("VIP caller", example(EXTERNAL), [rule(callers={"mode": "vip"})],
     [("79023855270", True)], "notify"),
    ("caller in notebook, not VIP", example(EXTERNAL), [rule(callers={"mode": "vip"})],
     [("8 902 385 52 70", False), ("+7 902 385-52-71", True)], "not_vip"),
    ("hidden caller, VIP rule", dict(example(EXTERNAL), **{"from": "anonymous"}),
     [rule(callers={"mode": "vip"})], [], "hidden_number"),
    ("hidden caller, listed rule", dict(example(EXTERNAL), **{"from": ""}),
     [rule(callers={"mode": "listed", "numbers": ["101"]})], [], "hidden_number"),
    ("hidden caller, all numbers", dict(example(EXTERNAL), **{"from": "anonymous"}), [MISSED], [], "notify"),
    ("first rule fails, second matches", example(EXTERNAL),
     [rule(callers={"mode": "vip"}), rule(time={"mode": "off_hours"}), MISSED], [], "notify"),
    ("no rule matches: first failure reported", at("2026-11-25T10:15:03+03:00", EXTERNAL),
     [rule(callers={"mode": "vip"}), rule(time={"mode": "off_hours"})], [], "not_vip"),
]


@pytest.mark.parametrize("payload, rules, contacts, reason", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decision_table(app, payload, rules, contacts, reason):
    sub = employee("102", rules=rules)
    employee("101", rules=[MISSED, VOICE], email="other@example.com", chat_id=777)  # never considered
    for number, vip in contacts:
        factories.contact("ООО Ромашка", number, vip=vip)
    pk = factories.event(payload).id
    assert process_event(pk) == reason
    decisions, deliveries = outcome(pk)
    assert decisions == [(sub.id, "102", reason == "notify", reason)]
    if reason == "notify":
        # Sent by the same job right away: no mail server or bot is set up here, so skipped.
        assert deliveries == [("email", "skipped", "ivan@example.com", sub.id),
                              ("telegram", "skipped", "@ivan", sub.id)]
    else:
        assert deliveries == []
    assert db.session.get(Event, pk).processed_at is not None


def test_unknown_subscriber_gets_a_decision_without_subscriber(app):
    employee("101", rules=[MISSED])
    pk = factories.event(dict(example("missed-internal"), to="+7 (495) 000-00-00")).id
    assert process_event(pk) == "unknown_subscriber"
    assert outcome(pk) == ([(None, "+74950000000", False, "unknown_subscriber")], [])


def test_outgoing_call_is_decided_for_the_employee_who_made_it_and_notifies_nobody(app):
    """events.md: ``from`` is the employee, ``to`` the outside number; the log
    shows the decision against the employee, without loading their rules."""
    sub = employee("102", rules=[MISSED, VOICE])
    employee("+7 902 385-52-70", rules=[MISSED], chat_id=556)  # even an employee at the number called is not notified
    payload = dict(example(EXTERNAL), direction="outgoing", **{"from": "102", "to": "+7 902 385-52-70"})
    payload.pop("routing")
    pk = factories.event(payload).id
    seen = statements_of(lambda: process_event(pk))
    assert not any("FROM rules" in s for s in seen)
    assert outcome(pk) == ([(sub.id, "102", False, "outgoing")], [])


def test_subscriber_found_by_any_notation_of_to(app):
    sub = employee("+7 902 385-52-80", rules=[VOICE])
    pk = factories.event(dict(example("voicemail"), to="89023855280")).id
    assert process_event(pk) == "notify"
    assert [d[0] for d in outcome(pk)[0]] == [sub.id]


def test_channels_the_subscriber_lacks_still_get_a_delivery(app):
    """A delivery with an empty address each: the send records the skip and why."""
    employee("102", rules=[MISSED], email=None, chat_id=None, telegram=None)
    pk = factories.event(example("missed-internal")).id
    assert process_event(pk) == "notify"
    assert [(c, s, a) for c, s, a, _ in outcome(pk)[1]] == [("email", "skipped", ""), ("telegram", "skipped", "")]


def test_schedule_from_settings_decides_the_time_zone(app):
    """08:30 in Moscow is 15:30 in Vladivostok: working time for a company there."""
    settings.put(settings.SCHEDULE_KEY, Schedule.default("Asia/Vladivostok").to_json())
    db.session.commit()
    employee("102", rules=[rule(time={"mode": "work_hours"})])
    pk = factories.event(at("2026-11-25T08:30:00+03:00")).id
    assert process_event(pk) == "notify"


def test_many_matching_rules_notify_once_per_channel(app):
    employee("102", rules=[MISSED, BOTH, rule(time={"mode": "all"}, callers={"mode": "all"})])
    pk = factories.event(example("missed-internal")).id
    process_event(pk)
    assert [d[0] for d in outcome(pk)[1]] == ["email", "telegram"]


def test_rerun_creates_nothing_twice(app):
    employee("102", rules=[MISSED])
    pk = factories.event(example("missed-internal")).id
    assert process_event(pk) == "notify"
    first = outcome(pk)
    assert process_event(pk) == "already processed"
    # Even a run that missed processed_at (a concurrent one) is stopped by the constraints.
    db.session.get(Event, pk).processed_at = None
    db.session.commit()
    assert process_event(pk) == "already processed"
    assert outcome(pk) == first
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 2
    assert db.session.scalar(select(func.count()).select_from(Decision)) == 1


def test_the_event_job_makes_the_first_try_itself(app):
    """Issue 15: no job per delivery for the first try; each is settled and its lease freed."""
    employee("102", rules=[MISSED])
    pk = factories.event(example("missed-internal")).id
    process_event(pk)
    rows = db.session.scalars(select(Delivery).where(Delivery.event_id == pk)).all()
    assert [(d.status, d.locked_until) for d in rows] == [("skipped", None), ("skipped", None)]
    assert Queue("default", connection=get_redis()).job_ids == []


def test_missing_event_is_a_no_op(app):
    assert process_event(12345) == "missing"


# --------------------------------------------------------------------------- cost


def statements_of(fn) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_cost_does_not_grow_with_the_rule_book(app):
    """The same statements with 1 or 300 other subscribers' rules; VIP looked up once per missed call
    (VIP rules and the missed-call record share it), never for other events."""
    employee("102", rules=[MISSED])
    small = statements_of(lambda: process_event(factories.event(dict(example("missed-internal"), id="a")).id))
    for n in range(300, 600):
        employee(str(n), rules=[MISSED, rule(callers={"mode": "vip"})], email=None, chat_id=None, telegram=None)
    big = statements_of(lambda: process_event(factories.event(dict(example("missed-internal"), id="b")).id))
    assert len(big) == len(small)
    rules_queries = [s for s in big if "FROM rules" in s]
    assert len(rules_queries) == 1 and "rules.subscriber_id = " in rules_queries[0]
    assert len([s for s in big if _is_vip_lookup(s)]) == 1

    employee("103", rules=[rule(callers={"mode": "vip"})])
    vip = statements_of(lambda: process_event(factories.event(dict(example(EXTERNAL), id="c", to="103")).id))
    assert len([s for s in vip if _is_vip_lookup(s)]) == 1
    hung_up = statements_of(lambda: process_event(factories.event(dict(example("caller-hung-up"), id="d")).id))
    assert not any("contact_numbers" in s for s in hung_up)


def _is_vip_lookup(statement: str) -> bool:
    """Not the notification's look-up of the caller's name (one query more for a notifying event)."""
    return "contact_numbers" in statement and "contacts.vip" in statement


def test_event_that_notifies_nobody_loads_no_rules(app):
    employee("102", rules=[MISSED])
    seen = statements_of(lambda: process_event(factories.event(example("caller-hung-up")).id))
    assert not any("FROM rules" in s for s in seen)


# --------------------------------------------------------------------------- end to end


def test_worker_runs_the_job_end_to_end(app, client, run_worker):
    sub_id = employee("102", rules=[MISSED, VOICE]).id
    for name in ("missed-internal", "missed-external-direct", "caller-hung-up", "voicemail"):
        assert post_event(client, example(name)).status_code == 202
    run_worker()
    events = db.session.scalars(select(Event).order_by(Event.event_id)).all()
    assert [e.event_id for e in events] == ["evt-0001", "evt-0002", "evt-0003", "evt-0004"]
    assert all(e.processed_at is not None for e in events)
    reasons = {e.event_id: outcome(e.id)[0] for e in events}
    assert reasons == {
        "evt-0001": [(sub_id, "102", True, "notify")],
        "evt-0002": [(sub_id, "102", True, "notify")],
        "evt-0003": [(sub_id, "102", False, "caller_hangup")],
        "evt-0004": [(sub_id, "102", True, "notify")],
    }
    per_event = dict(db.session.execute(
        select(Event.event_id, func.count(Delivery.id)).join(Delivery, isouter=True).group_by(Event.event_id)).all())
    assert per_event == {"evt-0001": 2, "evt-0002": 2, "evt-0003": 0, "evt-0004": 2}
    # Every delivery had its job (its outcome is the delivery half's business).
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 6
