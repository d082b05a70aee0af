"""Phone normalisation: every usual notation of one number gives one key."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.core.phones import InvalidNumber, display, is_hidden, normalize, tel_uri

MOBILE = "+79023855270"


@pytest.mark.parametrize(
    "raw, expected",
    [
        # The contract's notations of one Russian mobile number.
        ("+7 902 385-52-70", MOBILE),
        ("8 (902) 385 52 70", MOBILE),
        ("89023855270", MOBILE),
        ("79023855270", MOBILE),
        ("9023855270", MOBILE),
        ("+79023855270", MOBILE),
        ("+7 (902) 385-52-70", MOBILE),
        ("8-902-385-52-70", MOBILE),
        ("8.902.385.52.70", MOBILE),
        ("  +7 902 385 52 70  ", MOBILE),
        ("+7\u00a0902\u00a0385\u201152\u201170", MOBILE),  # no-break spaces, non-breaking hyphen
        ("007 902 385 52 70", MOBILE),
        ("tel:+79023855270", MOBILE),
        # Russian landlines: with 8, with 7, and 10 digits without trunk prefix.
        ("8 (495) 123-45-67", "+74951234567"),
        ("7 495 1234567", "+74951234567"),
        ("4951234567", "+74951234567"),
        ("8 (3452) 12-34-56", "+73452123456"),
        # Foreign numbers with + and 00, and the Russian 810 international prefix.
        ("+1 650 253 0000", "+16502530000"),
        ("+1 (650) 253-0000", "+16502530000"),
        ("0049 30 123456", "+4930123456"),
        ("+49 30 123456", "+4930123456"),
        ("8 10 49 30 123456", "+4930123456"),
        ("+39 06 1234 5678", "+390612345678"),  # Italian leading zero survives
        ("+375 29 123-45-67", "+375291234567"),
        # Possible but not allocated: kept (the library may lag behind real ranges).
        ("+7 000 000-00-00", "+70000000000"),
        # Extensions: 1 to 6 digits, separators dropped, leading zeros kept.
        ("101", "101"),
        ("1234", "1234"),
        ("1", "1"),
        ("007", "007"),
        ("0", "0"),
        ("12-34", "1234"),
        (" 101 ", "101"),
        ("123456", "123456"),
        # Hidden callers.
        (None, None),
        ("", None),
        ("   ", None),
        ("anonymous", None),
        ("Anonymous", None),
        ("unknown", None),
        ("private", None),
        ("Restricted", None),
        ("unavailable", None),
        ("withheld", None),
        ("скрыт", None),
        ("Скрытый номер", None),
        ("номер скрыт", None),
        ("Аноним", None),
        ("неизвестный", None),
        ("sip:anonymous@anonymous.invalid", None),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "hello",                     # letters, not a hidden-caller word
        "1-800-FLOWERS",             # vanity letters are not accepted
        "+7 902 385 52 70 доб. 12",  # extension suffix
        "385-52-70",                 # 7-digit city number: area code unknown
        "3855270",
        "12345678",                  # 8 digits: neither extension nor number
        "123456789",
        "+",
        "+7",
        "+12",
        "+7 902 385",                # too short
        "+7 902 385 52 70 11",       # too long for Russia
        "8902385527012345678",       # more than 15 digits
        "1" * 70,                    # absurdly long input
        "+7 (902) 385-52-70 x",
        "+7 902 385 52 70+",
        "++79023855270",
        "٩٠٢٣٨٥٥٢٧٠",                # non-ASCII digits
        "101#",
        "*101",
    ],
)
def test_normalize_rejects(raw):
    with pytest.raises(InvalidNumber):
        normalize(raw)


@pytest.mark.parametrize(
    "raw, needle",
    [
        ("hello", "Неверный номер телефона: «hello»"),
        ("385-52-70", "код"),
        ("x" * 100, "…"),
    ],
)
def test_invalid_number_message_is_russian(raw, needle):
    with pytest.raises(InvalidNumber) as exc:
        normalize(raw)
    assert needle in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_non_string_is_invalid():
    with pytest.raises(InvalidNumber):
        normalize(79023855270)  # type: ignore[arg-type]


def test_contract_notations_are_one_number():
    notations = ["+7 902 385-52-70", "8 (902) 385 52 70", "79023855270", "89023855270", "9023855270"]
    assert {normalize(n) for n in notations} == {MOBILE}


@pytest.mark.parametrize(
    "raw, hidden",
    [
        (None, True),
        ("", True),
        (" ", True),
        ("anonymous", True),
        ("PRIVATE", True),
        ("Скрыт", True),
        ("101", False),
        ("+79023855270", False),
        ("hello", False),
        ("anonymous 101", False),  # any digit: a number (or an error), never hidden
    ],
)
def test_is_hidden(raw, hidden):
    assert is_hidden(raw) is hidden


@pytest.mark.parametrize(
    "canonical, shown",
    [
        (MOBILE, "+7 902 385-52-70"),
        ("+74951234567", "+7 495 123-45-67"),
        ("+16502530000", "+1 650-253-0000"),
        ("+4930123456", "+49 30 123456"),
        ("101", "101"),
        ("007", "007"),
        ("", ""),
        ("+", "+"),  # not canonical: returned unchanged, never raises
    ],
)
def test_display(canonical, shown):
    assert display(canonical) == shown


@pytest.mark.parametrize(
    "canonical, uri",
    [(MOBILE, "tel:+79023855270"), ("+16502530000", "tel:+16502530000"), ("101", "tel:101")],
)
def test_tel_uri(canonical, uri):
    assert tel_uri(canonical) == uri


@pytest.mark.parametrize("raw", ["+7 902 385-52-70", "101", "0049 30 123456"])
def test_display_and_tel_uri_normalize_back(raw):
    key = normalize(raw)
    assert normalize(display(key)) == key
    assert normalize(tel_uri(key)) == key


_phoneish = st.from_regex(r"\A[+0]?[0-9 ()\-]{0,20}\Z")


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=40), _phoneish))
def test_normalize_only_raises_invalid_number_and_is_idempotent(raw):
    try:
        key = normalize(raw)
    except InvalidNumber:
        return
    if key is not None:
        assert normalize(key) == key
        assert normalize(display(key)) == key
