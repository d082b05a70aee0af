"""«Проверить правило»'s pure part: the dialog's inputs, the event they stand for, and decide's verdict on it."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from notifier.core import workhours
from notifier.core.criteria import parse_criteria
from notifier.core.decide import MISSED_CALL, VOICEMAIL, decide, event_kind
from notifier.core.fielderrors import FieldErrors
from notifier.core.rule_check import parse_probe, probe_event

MSK = "Europe/Moscow"
SCHEDULE = workhours.Schedule.default(MSK)


@pytest.mark.parametrize("number, at, expected_caller, expected_at", [
    ("+7 902 385-52-70", "2026-12-03T10:00", "+79023855270", datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo(MSK))),
    ("8 (902) 385 52 70", "2026-12-03T10:00:30", "+79023855270", datetime(2026, 12, 3, 10, 0, 30, tzinfo=ZoneInfo(MSK))),
    ("101", "2026-12-03 23:15", "101", datetime(2026, 12, 3, 23, 15, tzinfo=ZoneInfo(MSK))),
    ("скрыт", "2026-12-03T23:15", None, datetime(2026, 12, 3, 23, 15, tzinfo=ZoneInfo(MSK))),
    ("anonymous", "2000-01-01T00:00", None, datetime(2000, 1, 1, tzinfo=ZoneInfo(MSK))),
])
def test_good_inputs(number, at, expected_caller, expected_at):
    probe = parse_probe(number, at, MISSED_CALL, MSK)
    assert probe.caller == expected_caller and probe.at == expected_at and probe.caller_raw == number.strip()


@pytest.mark.parametrize("number, at, kind, errors", [
    ("", "2026-12-03T10:00", MISSED_CALL, {"check_number": "Введите номер звонящего"}),
    ("   ", "2026-12-03T10:00", MISSED_CALL, {"check_number": "Введите номер звонящего"}),
    ("385-52-70", "2026-12-03T10:00", MISSED_CALL, {"check_number": "укажите номер с кодом города"}),
    ("abc1", "2026-12-03T10:00", MISSED_CALL, {"check_number": "Неверный номер телефона"}),
    ("1" * 80, "2026-12-03T10:00", MISSED_CALL, {"check_number": "слишком длинный"}),
    ("101", "", MISSED_CALL, {"check_at": "Укажите дату и время"}),
    ("101", "03.12.2026 10:00", MISSED_CALL, {"check_at": "Неверные дата и время"}),
    ("101", "2026-02-30T10:00", MISSED_CALL, {"check_at": "Неверные дата и время"}),
    ("101", "2026-12-03T25:00", MISSED_CALL, {"check_at": "Неверные дата и время"}),
    ("101", "9999-12-31T23:59", MISSED_CALL, {"check_at": "с 2000 по 2100 год"}),
    ("101", "0001-01-01T00:00", MISSED_CALL, {"check_at": "с 2000 по 2100 год"}),
    ("101", "x" * 500, MISSED_CALL, {"check_at": "Неверные дата и время"}),
    ("101", "2026-12-03T10:00", "call", {"check_type": "Выберите"}),
    ("", "", "", {"check_number": "Введите", "check_at": "Укажите", "check_type": "Выберите"}),  # all at once
])
def test_bad_inputs_are_field_errors(number, at, kind, errors):
    with pytest.raises(FieldErrors) as exc:
        parse_probe(number, at, kind, MSK)
    assert set(exc.value.errors) == set(errors)
    for key, part in errors.items():
        assert part in exc.value.errors[key]
    assert len(exc.value.errors.get("check_at", "")) < 120  # the input is not echoed in full


def test_probe_is_an_external_direct_missed_call_or_a_voicemail():
    call = probe_event(parse_probe("89023855270", "2026-12-03T10:00", MISSED_CALL, MSK), "101")
    assert (call.type, call.direction, call.routing, call.result, call.caller, call.callee) == (
        "call.ended", "external", "direct", "no_answer", "+79023855270", "101")
    assert event_kind(call) == (MISSED_CALL, "notify")
    mail = probe_event(parse_probe("89023855270", "2026-12-03T10:00", VOICEMAIL, MSK), "101")
    assert event_kind(mail) == (VOICEMAIL, "notify")


def rule(**body):
    return parse_criteria({"types": ["missed_calls"], **body})


# Thursday 3 Dec 2026; 1 Jan 2027 is a holiday (a Friday).
@pytest.mark.parametrize("criteria, number, at, kind, vip, notify, reason", [
    (rule(time={"mode": "work_hours"}), "+79023855270", "2026-12-03T10:00", MISSED_CALL, False, True, "notify"),
    (rule(time={"mode": "work_hours"}), "+79023855270", "2026-12-03T23:00", MISSED_CALL, False, False, "outside_work_hours"),
    (rule(time={"mode": "work_hours"}), "+79023855270", "2027-01-01T10:00", MISSED_CALL, False, False, "outside_work_hours"),
    (rule(time={"mode": "off_hours"}), "+79023855270", "2026-12-03T10:00", MISSED_CALL, False, False, "inside_work_hours"),
    (rule(callers={"mode": "vip"}), "+79023855270", "2026-12-03T10:00", MISSED_CALL, True, True, "notify"),
    (rule(callers={"mode": "vip"}), "+79023855270", "2026-12-03T10:00", MISSED_CALL, False, False, "not_vip"),
    (rule(callers={"mode": "listed", "numbers": ["8 902 385 52 70"]}), "скрыт", "2026-12-03T10:00", MISSED_CALL, False, False, "hidden_number"),
    (rule(callers={"mode": "listed", "numbers": ["8 902 385 52 70"]}), "+7 902 385-52-70", "2026-12-03T10:00", MISSED_CALL, False, True, "notify"),
    (rule(), "101", "2026-12-03T10:00", VOICEMAIL, False, False, "type_not_selected"),
    (parse_criteria({"types": ["voicemail"]}), "101", "2026-12-03T23:00", VOICEMAIL, False, True, "notify"),
])
def test_verdicts_come_from_decide(criteria, number, at, kind, vip, notify, reason):
    probe = parse_probe(number, at, kind, MSK)
    decision = decide(probe_event(probe, "102"), [criteria], SCHEDULE, {probe.caller} if vip else set())
    assert (decision.notify, decision.reason) == (notify, reason)
