"""Field checks and the employee's clean() as tables of cases (pure, no database)."""
import pytest

from notifier.core.fielderrors import FieldErrors
from notifier.services import people_fields as f
from notifier.services import subscribers as service


@pytest.mark.parametrize("raw, expected", [
    ("101", ("101", "101")),
    ("007", ("007", "007")),
    (" 102 ", ("102", "102")),
    (102, ("102", "102")),
    ("+7 902 385-52-70", ("+7 902 385-52-70", "+79023855270")),
    ("8 (902) 385 52 70", ("8 (902) 385 52 70", "+79023855270")),
    ("9023855270", ("9023855270", "+79023855270")),
    ("+44 20 7946 0958", ("+44 20 7946 0958", "+442079460958")),
])
def test_number(raw, expected):
    assert f.number(raw) == expected


@pytest.mark.parametrize("raw, message", [
    (None, "Укажите номер"),
    ("", "Укажите номер"),
    ("   ", "Укажите номер"),
    ("385-52-70", "с кодом города"),
    ("1-800-FLOWERS", "допустимы только цифры"),
    ("доб. 12", "Неверный номер"),
    ("anonymous", "Неверный номер телефона: «anonymous»"),
    ("1" * 70, "Не длиннее 64"),
    (True, "Должно быть строкой"),
    (["101"], "Должно быть строкой"),
])
def test_number_errors(raw, message):
    with pytest.raises(f.FieldError, match=message):
        f.number(raw)


@pytest.mark.parametrize("raw, expected", [
    ("ivanov@example.com", "ivanov@example.com"),
    (" Ivanov@Example.COM ", "Ivanov@Example.COM"),
    ("иванов@пример.рф", "иванов@пример.рф"),
    ("", None),
    (None, None),
])
def test_email(raw, expected):
    assert f.email(raw) == expected


@pytest.mark.parametrize("raw", ["ivanov", "ivanov@", "@example.com", "a b@example.com", "a@b", "a@@b.ru", 12])
def test_email_errors(raw):
    with pytest.raises(f.FieldError):
        f.email(raw)


@pytest.mark.parametrize("raw, expected", [
    ("@ivanov", "@ivanov"),
    ("ivanov", "@ivanov"),
    ("https://t.me/Ivan_Petrov", "@Ivan_Petrov"),
    ("t.me/ivanov_1", "@ivanov_1"),
    ("", None),
])
def test_telegram(raw, expected):
    assert f.telegram(raw) == expected


@pytest.mark.parametrize("raw", ["@iv", "иванов", "@ivan ov", "@" + "a" * 33, "+79023855270"])
def test_telegram_errors(raw):
    with pytest.raises(f.FieldError, match="Telegram"):
        f.telegram(raw)


@pytest.mark.parametrize("raw, expected", [
    (True, True), (False, False), (None, False), (1, True), (0, False),
    ("да", True), ("Да", True), ("x", True), ("VIP", True), ("1", True), ("yes", True),
    ("", False), ("нет", False), ("0", False), ("false", False),
])
def test_flag(raw, expected):
    assert f.flag(raw) is expected


@pytest.mark.parametrize("raw", ["может быть", 2, 1.5, [], {}])
def test_flag_errors(raw):
    with pytest.raises(f.FieldError):
        f.flag(raw)


def test_clean_collects_every_error():
    with pytest.raises(FieldErrors) as e:
        service.clean({"number": "abc", "email": "nope", "telegram": "!", "name": 5})
    assert set(e.value.errors) == {"number", "email", "telegram", "name"} and not e.value.conflict


def test_clean_keeps_name_as_typed():
    name = ' <b>"Иван"</b>\n & Co '
    assert service.clean({"number": "101", "name": name})["name"] == name


def test_partial_checks_only_given_fields():
    assert service.clean({"email": ""}, partial=True) == {"email": None}
    assert service.clean({}, partial=True) == {}
    with pytest.raises(FieldErrors) as e:
        service.clean({"number": None}, partial=True)
    assert "number" in e.value.errors


@pytest.mark.parametrize("raw, expected", [
    ("\u202eвонавИ", "вонавИ"),
    ("Ива\u200bнов\u2060", "Иванов"),
    ("\ufeffИванов \u2066Иван\u2069", "Иванов Иван"),
    ("<b>Иванов</b>\n", "<b>Иванов</b>\n"),  # as typed otherwise
])
def test_text_drops_format_characters(raw, expected):
    assert f.text(raw, required=True, max_len=f.NAME_MAX) == expected


def test_text_of_only_format_characters_is_missing():
    with pytest.raises(f.FieldError, match="Заполните поле"):
        f.text("\u202e\u200b\ufeff", required=True, max_len=f.NAME_MAX)
    assert f.text("\u200b", required=False, max_len=f.NAME_MAX) == ""


def test_length_is_counted_without_format_characters():
    assert f.text("я" * f.NAME_MAX + "\u200b" * 50, required=True, max_len=f.NAME_MAX) == "я" * f.NAME_MAX


@pytest.mark.parametrize("raw, expected", [
    ("Ива\u200bнов", "Иванов"), ("\u202e101", "101"), (" a\x00b ", "ab"), (None, ""),
])
def test_query_drops_control_and_format_characters(raw, expected):
    assert f.query(raw) == expected
