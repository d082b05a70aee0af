"""Rule criteria: validation errors, summaries, JSON round trip, merging changes."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.core.criteria import Criteria, Period, criteria_to_json, merge_changes, parse_criteria, summary
from notifier.core.fielderrors import FieldErrors

MISSED = ["missed_calls"]
PERIOD = {"weekdays": ["sat", "sun"], "from": "10:00", "to": "18:00",
          "start_date": "2026-12-30", "end_date": "2027-01-08"}


def period_body(**period):
    return {"types": MISSED, "time": {"mode": "period", "period": period}}


def listed_body(numbers):
    return {"types": MISSED, "callers": {"mode": "listed", "numbers": numbers}}


# ----------------------------------------------------------------------------- valid


@pytest.mark.parametrize("body, expected", [
    ({"types": MISSED}, Criteria(frozenset(MISSED))),
    ({"types": ["voicemail", "missed_calls", "voicemail"]},
     Criteria(frozenset({"voicemail", "missed_calls"}))),
    ({"types": MISSED, "time": None, "callers": None}, Criteria(frozenset(MISSED))),
    ({"types": MISSED, "time": {"mode": "work_hours"}, "callers": {"mode": "vip"}},
     Criteria(frozenset(MISSED), "work_hours", None, "vip")),
    # numbers of a non-listed mode and a period of a non-period mode are dropped
    ({"types": MISSED, "time": {"mode": "off_hours", "period": "junk"},
      "callers": {"mode": "all", "numbers": ["junk"]}},
     Criteria(frozenset(MISSED), "off_hours")),
    # voicemail only: time and callers are normalised to all, even when invalid
    ({"types": ["voicemail"], "time": {"mode": "work_hours"},
      "callers": {"mode": "listed", "numbers": ["abc"]}},
     Criteria(frozenset({"voicemail"}))),
    # extra keys (subscribers, summary...) are ignored
    ({"types": MISSED, "subscribers": ["101"], "summary": "x"}, Criteria(frozenset(MISSED))),
    # listed numbers: canonical, de-duplicated across notations, order kept
    (listed_body(["89023855270", "101", "+7 902 385-52-70", "79023855270", " 102 "]),
     Criteria(frozenset(MISSED), callers_mode="listed", numbers=("+79023855270", "101", "102"))),
    (period_body(**PERIOD), Criteria(frozenset(MISSED), "period", Period(
        ("sat", "sun"), 600, 1080, date(2026, 12, 30), date(2027, 1, 8)))),
    # weekdays sorted and de-duplicated; times default to the whole day
    (period_body(weekdays=["sun", "sat", "sun"]),
     Criteria(frozenset(MISSED), "period", Period(("sat", "sun")))),
    (period_body(**{"from": "22:00", "to": "06:00"}),
     Criteria(frozenset(MISSED), "period", Period(from_minute=1320, to_minute=360))),
    (period_body(**{"from": "10:00"}), Criteria(frozenset(MISSED), "period", Period(from_minute=600))),
    (period_body(**{"to": "9:30"}), Criteria(frozenset(MISSED), "period", Period(to_minute=570))),
    (period_body(**{"from": "18:00", "to": "24:00"}),
     Criteria(frozenset(MISSED), "period", Period(from_minute=1080))),
    (period_body(start_date="2026-12-30", weekdays=None, to=None),
     Criteria(frozenset(MISSED), "period", Period(start_date=date(2026, 12, 30)))),
    (period_body(start_date="2026-12-30", end_date="2026-12-30"), Criteria(
        frozenset(MISSED), "period", Period(start_date=date(2026, 12, 30), end_date=date(2026, 12, 30)))),
])
def test_parse_valid(body, expected):
    assert parse_criteria(body) == expected


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("body, errors", [
    ({}, {"types": "Выберите хотя бы один тип уведомлений"}),
    ({"types": []}, {"types": "Выберите хотя бы один тип уведомлений"}),
    ({"types": "voicemail"}, {"types": "Ожидается список типов уведомлений"}),
    ({"types": ["sms"]}, {"types": "Неизвестный тип уведомлений: sms"}),
    ({"types": [1]}, {"types": "Неизвестный тип уведомлений"}),
    ({"types": MISSED, "time": "all"}, {"time": "Неверный критерий времени"}),
    ({"types": MISSED, "time": {}}, {"time.mode": "Выберите критерий времени"}),
    ({"types": MISSED, "time": {"mode": "never"}}, {"time.mode": "Неизвестный критерий времени: never"}),
    ({"types": MISSED, "time": {"mode": "period"}}, {"time.period": "Укажите период"}),
    ({"types": MISSED, "time": {"mode": "period", "period": []}}, {"time.period": "Неверный период"}),
    (period_body(), {"time.period": "Ограничьте период днями недели, временем или датами"}),
    (period_body(weekdays=list(("mon", "tue", "wed", "thu", "fri", "sat", "sun")), **{"from": "00:00", "to": "24:00"}),
     {"time.period": "Ограничьте период днями недели, временем или датами"}),
    (period_body(weekdays=[]), {"time.period.weekdays": "Выберите хотя бы один день недели"}),
    (period_body(weekdays="sat"), {"time.period.weekdays": "Ожидается список дней недели"}),
    (period_body(weekdays=["sat", "сб"]), {"time.period.weekdays": "Неизвестный день недели: сб"}),
    (period_body(**{"from": "25:00"}), {"time.period.from": "Укажите время в формате ЧЧ:ММ"}),
    (period_body(**{"from": "24:00"}), {"time.period.from": "Укажите время в формате ЧЧ:ММ"}),
    (period_body(**{"from": 600}), {"time.period.from": "Укажите время в формате ЧЧ:ММ"}),
    (period_body(**{"to": "18:60"}), {"time.period.to": "Укажите время в формате ЧЧ:ММ"}),
    (period_body(**{"to": "6 pm"}), {"time.period.to": "Укажите время в формате ЧЧ:ММ"}),
    (period_body(**{"from": "10:00", "to": "10:00"}),
     {"time.period.to": "Время окончания должно отличаться от времени начала"}),
    (period_body(**{"to": "00:00"}),
     {"time.period.to": "Время окончания должно отличаться от времени начала"}),
    (period_body(start_date="30.12.2026"), {"time.period.start_date": "Укажите дату в формате ГГГГ-ММ-ДД"}),
    (period_body(end_date="2027-02-30"), {"time.period.end_date": "Укажите дату в формате ГГГГ-ММ-ДД"}),
    (period_body(start_date="2027-01-09", end_date="2027-01-08"),
     {"time.period.end_date": "Дата окончания раньше даты начала"}),
    ({"types": MISSED, "callers": ["101"]}, {"callers": "Неверный критерий номеров"}),
    ({"types": MISSED, "callers": {"numbers": ["101"]}}, {"callers.mode": "Выберите критерий номеров"}),
    ({"types": MISSED, "callers": {"mode": "friends"}}, {"callers.mode": "Неизвестный критерий номеров: friends"}),
    ({"types": MISSED, "callers": {"mode": "listed"}}, {"callers.numbers": "Добавьте хотя бы один номер"}),
    (listed_body([]), {"callers.numbers": "Добавьте хотя бы один номер"}),
    (listed_body("101"), {"callers.numbers": "Ожидается список номеров"}),
    (listed_body(["101", "  "]), {"callers.numbers": "Номер не может быть пустым"}),
    (listed_body(["anonymous"]), {"callers.numbers": "Скрытый номер нельзя указать в правиле"}),
    (listed_body(["101", 101, "abc", "x1", "y2", "z3"]),
     {"callers.numbers": "Неверные номера телефонов: abc, x1, y2 и ещё 2"}),
    (listed_body(["101"] * 501), {"callers.numbers": "Можно указать не больше 500 номеров"}),
    # everything at once
    ({"types": ["fax"], "time": {"mode": "period", "period": {"from": "x", "to": "y"}},
      "callers": {"mode": "listed", "numbers": []}},
     {"types": "Неизвестный тип уведомлений: fax",
      "time.period.from": "Укажите время в формате ЧЧ:ММ",
      "time.period.to": "Укажите время в формате ЧЧ:ММ",
      "callers.numbers": "Добавьте хотя бы один номер"}),
    ("not a dict", {"body": "Ожидается JSON-объект"}),
    (None, {"body": "Ожидается JSON-объект"}),
])
def test_parse_errors(body, errors):
    with pytest.raises(FieldErrors) as info:
        parse_criteria(body)
    assert info.value.errors == errors


@pytest.mark.parametrize("raw", ["abc", "385-52-70", "+7 902 385 52 70 доб. 12"])
def test_single_invalid_number_names_it(raw):
    with pytest.raises(FieldErrors) as info:
        parse_criteria(listed_body(["101", raw]))
    message = info.value.errors["callers.numbers"]
    assert message.startswith("Неверный номер телефона: ")
    assert raw[:10] in message


def test_huge_string_is_shown_truncated():
    with pytest.raises(FieldErrors) as info:
        parse_criteria({"types": ["x" * 1_000_000]})
    assert len(info.value.errors["types"]) < 100


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
KEYED = st.fixed_dictionaries({
    "types": st.one_of(JSON, st.lists(st.sampled_from(["missed_calls", "voicemail", "x"]))),
    "time": st.one_of(JSON, st.fixed_dictionaries({
        "mode": st.one_of(JSON, st.sampled_from(["all", "work_hours", "off_hours", "period"])),
        "period": st.one_of(JSON, st.fixed_dictionaries({
            k: st.one_of(JSON, st.sampled_from(["10:00", "24:00", "2026-12-30", "sat"]), st.lists(st.sampled_from(["sat", "x"])))
            for k in ("weekdays", "from", "to", "start_date", "end_date")})),
    })),
    "callers": st.one_of(JSON, st.fixed_dictionaries({
        "mode": st.one_of(JSON, st.sampled_from(["all", "listed", "vip"])),
        "numbers": st.one_of(JSON, st.lists(st.one_of(st.text(max_size=20), st.sampled_from(["101", "89023855270", ""])))),
    })),
})


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON, KEYED))
def test_fuzz_only_criteria_error(body):
    try:
        c = parse_criteria(body)
    except FieldErrors as exc:
        assert exc.errors and all(isinstance(v, str) and v for v in exc.errors.values())
    else:
        assert parse_criteria(criteria_to_json(c)) == c
        assert summary(c)


# ----------------------------------------------------------------------------- summary

LISTED5 = ["+7 902 385 52 70", "101", "102", "103", "104", "105", "106"]


@pytest.mark.parametrize("body, text", [
    ({"types": MISSED, "time": {"mode": "work_hours"}}, "Все пропущенные звонки в рабочее время"),
    ({"types": MISSED, "time": {"mode": "off_hours"}}, "Все пропущенные звонки в нерабочее время"),
    ({"types": MISSED}, "Все пропущенные звонки"),
    ({"types": ["voicemail"]}, "Голосовые сообщения"),
    ({"types": ["voicemail"], "time": {"mode": "work_hours"}}, "Голосовые сообщения"),
    ({"types": MISSED, "time": {"mode": "off_hours"}, "callers": {"mode": "vip"}},
     "Пропущенные звонки с VIP-номеров в нерабочее время"),
    ({"types": MISSED, "callers": {"mode": "vip"}}, "Пропущенные звонки с VIP-номеров"),
    ({"types": ["missed_calls", "voicemail"], "time": {"mode": "work_hours"}},
     "Голосовые сообщения и все пропущенные звонки в рабочее время"),
    ({"types": ["voicemail", "missed_calls"], "callers": {"mode": "vip"}},
     "Голосовые сообщения и пропущенные звонки с VIP-номеров"),
    (listed_body(["+7 902 385 52 70", "101"]), "Пропущенные звонки с номеров +7 902 385-52-70, 101"),
    (listed_body(["89023855270"]), "Пропущенные звонки с номера +7 902 385-52-70"),
    (listed_body(LISTED5), "Пропущенные звонки с номеров +7 902 385-52-70, 101, 102 и ещё 4"),
    ({**listed_body(["101"]), "time": {"mode": "work_hours"}},
     "Пропущенные звонки с номера 101 в рабочее время"),
    ({**period_body(**PERIOD), "callers": {"mode": "vip"}},
     "Пропущенные звонки с VIP-номеров по сб, вс с 10:00 до 18:00, с 30.12.2026 по 08.01.2027"),
    (period_body(**PERIOD),
     "Все пропущенные звонки по сб, вс с 10:00 до 18:00, с 30.12.2026 по 08.01.2027"),
    ({**period_body(weekdays=["sat", "sun"], **{"from": "10:00", "to": "18:00"}), **listed_body(["101"])},
     "Пропущенные звонки с номера 101 по сб, вс с 10:00 до 18:00"),
    (period_body(weekdays=["sat"], **{"from": "22:00", "to": "06:00"}),
     "Все пропущенные звонки по сб с 22:00 до 06:00"),
    (period_body(weekdays=["mon", "fri"]), "Все пропущенные звонки по пн, пт"),
    (period_body(**{"from": "18:00"}), "Все пропущенные звонки с 18:00 до 24:00"),
    (period_body(weekdays=["sun"], start_date="2026-12-30"), "Все пропущенные звонки по вс, с 30.12.2026"),
    (period_body(end_date="2027-01-08"), "Все пропущенные звонки по 08.01.2027"),
    (period_body(start_date="2026-12-30", end_date="2027-01-08"),
     "Все пропущенные звонки с 30.12.2026 по 08.01.2027"),
    ({**period_body(weekdays=["sat"]), "types": ["voicemail", "missed_calls"]},
     "Голосовые сообщения и все пропущенные звонки по сб"),
])
def test_summary(body, text):
    assert summary(parse_criteria(body)) == text


# ----------------------------------------------------------------------------- JSON


@pytest.mark.parametrize("body, json", [
    ({"types": ["voicemail", "missed_calls"]},
     {"types": ["missed_calls", "voicemail"], "time": {"mode": "all"}, "callers": {"mode": "all"}}),
    ({"types": ["voicemail"], "callers": {"mode": "vip"}},
     {"types": ["voicemail"], "time": {"mode": "all"}, "callers": {"mode": "all"}}),
    (listed_body(["89023855270", "101"]),
     {"types": MISSED, "time": {"mode": "all"},
      "callers": {"mode": "listed", "numbers": ["+7 902 385-52-70", "101"]}}),
    (period_body(weekdays=["sun", "sat"], to="06:00", **{"from": "22:00"}),
     {"types": MISSED, "callers": {"mode": "all"}, "time": {"mode": "period", "period": {
         "weekdays": ["sat", "sun"], "from": "22:00", "to": "06:00", "start_date": None, "end_date": None}}}),
    (period_body(start_date="2026-12-30"),
     {"types": MISSED, "callers": {"mode": "all"}, "time": {"mode": "period", "period": {
         "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "00:00", "to": "24:00",
         "start_date": "2026-12-30", "end_date": None}}}),
])
def test_to_json_and_round_trip(body, json):
    c = parse_criteria(body)
    assert criteria_to_json(c) == json
    assert parse_criteria(json) == c


# ----------------------------------------------------------------------------- merge

CURRENT = {"types": MISSED, "time": {"mode": "work_hours"},
           "callers": {"mode": "listed", "numbers": ["101"]}}


@pytest.mark.parametrize("changes, merged", [
    ({}, CURRENT),
    ({"types": ["voicemail"]}, {**CURRENT, "types": ["voicemail"]}),
    ({"callers": {"mode": "vip"}}, {**CURRENT, "callers": {"mode": "vip"}}),  # replaced whole
    ({"time": {"mode": "all"}, "subscribers": ["102"], "id": 5}, {**CURRENT, "time": {"mode": "all"}}),
    ({"types": MISSED, "time": None}, {**CURRENT, "time": None}),
])
def test_merge_changes(changes, merged):
    before = repr(CURRENT)
    assert merge_changes(CURRENT, changes) == merged
    assert repr(CURRENT) == before  # current is not mutated


def test_merge_then_parse_time_null_means_all():
    c = parse_criteria(merge_changes(CURRENT, {"time": None}))
    assert c.time_mode == "all" and c.numbers == ("101",)


def test_merge_changes_rejects_non_object():
    with pytest.raises(FieldErrors) as info:
        merge_changes(CURRENT, ["types"])
    assert set(info.value.errors) == {"changes"}
