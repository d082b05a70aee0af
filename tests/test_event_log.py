"""notifier.services.event_log: the queries and shapes behind the «Журнал» page and the API."""
from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from notifier.core import reasons
from notifier.extensions import db
from notifier.services import event_log
from tests import event_log_data as data
from tests import factories


@pytest.fixture
def ctx(app):
    yield
    db.session.rollback()


def ids(page):
    return [entry.event.event_id for entry in page.entries]


def query(**args):
    filters, errors = event_log.parse_filters(MultiDict(args))
    assert not errors
    return ids(event_log.recent(filters))


def test_newest_first_with_keyset_pages(ctx):
    for n in range(5):
        data.event(f"e{n}", started_at=data.T0 + timedelta(minutes=n))
    db.session.commit()
    first = event_log.recent(event_log.Filters(limit=2))
    assert ids(first) == ["e4", "e3"] and first.next_before is not None
    second = event_log.recent(event_log.Filters(limit=2, before=first.next_before))
    assert ids(second) == ["e2", "e1"]
    last = event_log.recent(event_log.Filters(limit=2, before=second.next_before))
    assert ids(last) == ["e0"] and last.next_before is None


@pytest.mark.parametrize("typed", [
    "+7 902 385-52-70", "8 (902) 385 52 70", "79023855270", "89023855270", "9023855270",
    "385 52", "385-52-70", "89023", "ромашка", "Ромаш",
])
def test_caller_in_any_notation_part_of_it_or_the_client_name(ctx, typed):
    factories.contact("ООО Ромашка", "+7 902 385 52 70", vip=True)
    data.event("from-client", caller="8 902 385 52 70")
    data.event("from-other", caller="+7 495 111-22-33")
    data.event("internal", caller="101")
    data.event("hidden", caller="anonymous")
    db.session.commit()
    assert query(caller=typed) == ["from-client"]


@pytest.mark.parametrize("typed, found", [
    ("101", ["internal"]), ("скрыт", ["hidden"]), ("anonymous", ["hidden"]), ("495", ["from-other"]),
    ("никто", []), ("+", ["from-other"]), ("%", []), ("_", []),
])
def test_caller_extension_hidden_and_nothing(ctx, typed, found):
    data.event("from-other", caller="+7 495 111-22-33")
    data.event("internal", caller="101")
    data.event("hidden", caller="")
    db.session.commit()
    assert query(caller=typed) == found


def test_employee_by_id_by_search_text_and_by_unknown_number(ctx):
    ivanov = factories.subscriber("102", "Иванов Иван", "ivanov@example.com")
    petrova = factories.subscriber("+7 495 765-43-21", "Петрова Анна", email=None)
    data.event("to-ivanov", to="102", decisions=[(ivanov, True, "notify")])
    data.event("to-petrova", to="+74957654321", decisions=[(petrova, False, "no_rule")])
    data.event("to-nobody", to="105", decisions=[("105", False, "unknown_subscriber")])
    db.session.commit()
    assert query(subscriber=str(ivanov.id)) == ["to-ivanov"]
    assert query(employee="иванов") == ["to-ivanov"]
    assert query(employee="IVANOV@") == ["to-ivanov"]
    assert query(employee="765 43") == ["to-petrova"]
    assert query(employee="8 495 765-43-21") == ["to-petrova"]
    assert query(employee="105") == ["to-nobody"]
    assert query(employee="Сидоров") == []


def test_status_filter_agrees_with_the_badge(ctx):
    """Every combination of deliveries: the filter for a status finds exactly the events with that badge."""
    sub = factories.subscriber("102", "Иванов", "ivanov@example.com")
    combos = [(), ("pending",), ("retrying", "sent"), ("failed", "pending"), ("failed",), ("failed", "sent"),
              ("sent",), ("sent", "skipped"), ("skipped",), ("skipped", "skipped")]
    channels = ("email", "telegram")
    for n, combo in enumerate(combos):
        data.event(f"e{n}", deliveries=[{"subscriber": sub, "channel": channels[i], "status": s}
                                        for i, s in enumerate(combo)])
    data.event("unprocessed", processed=False)
    db.session.commit()
    everything = event_log.recent(event_log.Filters(limit=100)).entries
    assert {e.status for e in everything} == set(reasons.EVENT_STATUSES)
    for status in reasons.EVENT_STATUSES:
        expected = [e.event.event_id for e in everything if e.status == status]
        assert query(status=status) == expected, status


def test_filters_combine(ctx):
    sub = factories.subscriber("102", "Иванов", email=None)
    data.event("a", caller="101", deliveries=[{"subscriber": sub, "channel": "email", "status": "failed"}])
    data.event("b", caller="101", deliveries=[{"subscriber": sub, "channel": "email", "status": "sent"}])
    data.event("c", caller="103", to="104", deliveries=[{"subscriber": sub, "channel": "email", "status": "failed"}])
    db.session.commit()
    assert query(caller="101", status="failed", employee="Иванов") == ["a"]


@pytest.mark.parametrize("args, errors", [
    ({"subscriber": "abc"}, {"subscriber"}),
    ({"subscriber": "0"}, {"subscriber"}),
    ({"subscriber": "-3"}, {"subscriber"}),
    ({"subscriber": "99999999999999999999999"}, {"subscriber"}),
    ({"subscriber": "٣"}, {"subscriber"}),
    ({"before": "1e3"}, {"before"}),
    ({"limit": "0"}, {"limit"}),
    ({"limit": "201"}, {"limit"}),
    ({"limit": "9" * 5000}, {"limit"}),
    ({"status": "whatever"}, {"status"}),
    ({"status": "notified", "limit": "200", "before": "7", "subscriber": " 5 "}, set()),
])
def test_parse_filters_names_what_it_ignored(args, errors):
    filters, found = event_log.parse_filters(MultiDict(args))
    assert set(found) == errors
    assert filters.limit in (50, 200)


def test_odd_text_is_searched_safely(ctx):
    data.event("e1", caller="101")
    db.session.commit()
    for text in ("\x00", "a\x00b", "'; drop table events; --", "x" * 5000, "\\", "🙂", "1" * 80):
        filters, _ = event_log.parse_filters(MultiDict({"caller": text, "employee": text}))
        event_log.recent(filters)  # no exception, whatever the database
    assert event_log.by_event_id("a\x00b") is None and event_log.by_event_id("x" * 500) is None
    assert event_log.by_pk(2**40) is None and event_log.by_pk(0) is None


def test_entry_shape_names_people_clients_reasons_and_deliveries(ctx):
    ivanov = factories.subscriber("102", "Иванов Иван", "ivanov@example.com")
    factories.contact("ООО Ромашка", "+7 902 385 52 70", vip=True)
    ev = data.event("evt-1", caller="89023855270", decisions=[(ivanov, True, "notify")], deliveries=[
        {"subscriber": ivanov, "channel": "email", "status": "sent", "attempts": 1},
        {"subscriber": ivanov, "channel": "telegram", "status": "failed", "attempts": 3,
         "address": "", "last_error": "Forbidden: bot was blocked by the user"},
    ])
    data.event("evt-2", result="busy", decisions=[("103", False, "not_missed")], to="103")
    db.session.commit()
    entry = event_log.by_event_id("evt-1")
    assert entry.event.id == ev.id and event_log.by_pk(ev.id).event.event_id == "evt-1"
    assert entry.caller_number == "+7 902 385-52-70" and entry.client_name == "ООО Ромашка" and entry.client_vip
    assert entry.callee.name == "Иванов Иван" and entry.callee_number == "102"
    assert entry.status == "failed" and entry.status_text == "Ошибка доставки"
    assert [d.can_retry for d in entry.deliveries] == [False, True]
    body = entry.to_json(payload=True)
    assert body["id"] == "evt-1" and body["pk"] == ev.id and body["payload"]["from"] == "89023855270"
    assert body["caller"] == {"raw": "89023855270", "number": "+79023855270", "display": "+7 902 385-52-70",
                              "hidden": False, "client": "ООО Ромашка", "vip": True}
    assert body["callee"]["subscriber"] == {"id": ivanov.id, "number": "102", "name": "Иванов Иван"}
    assert body["decisions"] == [{"subscriber": {"id": ivanov.id, "number": "102", "name": "Иванов Иван"},
                                  "notified": True, "reason": "notify",
                                  "reason_text": "Событие подходит под правило сотрудника"}]
    assert [(d["channel"], d["address"], d["status"], d["attempts"], d["last_error"]) for d in body["deliveries"]] == [
        ("email", "ivanov@example.com", "sent", 1, None),
        ("telegram", "", "failed", 3, "Forbidden: bot was blocked by the user")]
    assert body["deliveries"][0]["sent_at"].startswith("2026-11-25T07:15:08")
    busy = event_log.by_event_id("evt-2")
    assert busy.callee is None and busy.decisions[0].reason_text == "Абонент был занят"
    assert busy.decisions[0].subscriber.to_json() == {"id": None, "number": "103", "name": ""}
