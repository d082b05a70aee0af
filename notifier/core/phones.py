"""Phone numbers as one canonical key, whatever notation the PBX or the admin used.

Rules match callers by number (events.md rule 6): ``+7 902 385-52-70``,
``8 (902) 385 52 70``, ``89023855270``, ``79023855270`` and ``9023855270`` must
compare equal, so everything is stored and compared as :func:`normalize` returns it:

* a phone number -> E.164, ``+79023855270``;
* a PBX extension (1 to 6 digits) -> its digits, leading zeros kept (``"007"``);
* a hidden caller (``""``, ``anonymous``, ``скрыт``...) -> ``None``.

Decisions:

* 7-digit city numbers without an area code (``385-52-70``) are rejected with
  :class:`InvalidNumber`: the area code cannot be guessed, and keeping the bare
  digits would silently never match the same caller seen as ``+7 495 385-52-70``.
* Only *possible* numbers are required (right length for the country), not
  numbers in ranges the metadata knows as allocated: a real caller from a new
  range must not be rejected because the library is a release behind.
* Letters (``1-800-FLOWERS``), extension suffixes (``доб. 12``) and more than 15
  digits are invalid.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

__all__ = ["InvalidNumber", "is_hidden", "normalize", "display", "tel_uri"]

# Word stems PBXs and people use for a withheld caller ID (checked on text without digits).
_HIDDEN_STEMS = (
    "anonym", "unknown", "private", "restrict", "unavailable", "withheld", "hidden",
    "blocked", "скрыт", "аноним", "неизвест",
)
# Separators people put between digits: whitespace, dashes, dots, brackets, slashes.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015.()/]+")
_NUMBER = re.compile(r"\+?[0-9]+")
_MAX_INPUT = 64
_MAX_EXTENSION = 6
_MAX_E164_DIGITS = 15


class InvalidNumber(ValueError):
    """Text that is neither a phone number, an extension nor a hidden caller.

    ``str()`` is a Russian message fit to show the admin next to the field.
    """

    def __init__(self, raw: object, hint: str | None = None):
        self.raw = raw
        self.hint = hint
        shown = str(raw)
        if len(shown) > 40:
            shown = shown[:40] + "…"
        message = f"Неверный номер телефона: «{shown}»"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


def is_hidden(raw: str | None) -> bool:
    """True for a withheld caller ID: None, blank, or a word like ``anonymous``.

    Text with any digit is never hidden: it is a number or an error.
    """
    if raw is None:
        return True
    if not isinstance(raw, str):
        return False
    text = raw.strip().lower()
    if not text:
        return True
    if any(ch.isdigit() for ch in text):
        return False
    return any(stem in text for stem in _HIDDEN_STEMS)


def normalize(raw: str | None, region: str = "RU") -> str | None:
    """Return the canonical key of ``raw``: E.164, extension digits, or None if hidden.

    With ``region="RU"``, 11 digits starting with 7 or 8 and 10 digits starting
    with 9 are Russian numbers; ``+`` and ``00`` start an international number;
    other digits are parsed as a national number of ``region`` (``810`` works as
    the Russian international prefix). Raises :class:`InvalidNumber` otherwise.
    """
    if is_hidden(raw):
        return None
    if not isinstance(raw, str):
        raise InvalidNumber(raw)
    text = raw.strip()
    if len(text) > _MAX_INPUT:
        raise InvalidNumber(text, "слишком длинный")
    if text[:4].lower() == "tel:":
        text = text[4:]
    compact = _SEPARATORS.sub("", text)
    if not _NUMBER.fullmatch(compact):
        raise InvalidNumber(text, "допустимы только цифры, «+» и разделители")
    plus = compact.startswith("+")
    digits = compact.lstrip("+")
    if len(digits) > _MAX_E164_DIGITS + 2:  # room for a "00"/"810" prefix
        raise InvalidNumber(text, "слишком длинный")

    if not plus and len(digits) <= _MAX_EXTENSION:
        return digits
    if plus:
        candidate, parse_region = "+" + digits, None
    elif digits.startswith("00"):
        candidate, parse_region = "+" + digits[2:], None
    elif region == "RU" and len(digits) == 11 and digits[0] in "78":
        candidate, parse_region = "+7" + digits[1:], None
    elif region == "RU" and len(digits) == 10 and digits[0] == "9":
        candidate, parse_region = "+7" + digits, None
    else:
        candidate, parse_region = digits, region

    try:
        number = phonenumbers.parse(candidate, parse_region)
    except NumberParseException:
        raise InvalidNumber(text) from None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise InvalidNumber(text, "укажите номер с кодом города")
    if reason != ValidationResult.IS_POSSIBLE:
        raise InvalidNumber(text)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def display(canonical: str) -> str:
    """Human form of a canonical key: ``+7 902 385-52-70``; extensions unchanged.

    Never raises: anything it cannot format is returned as it came.
    """
    if not canonical or not canonical.startswith("+"):
        return canonical
    try:
        number = phonenumbers.parse(canonical, None)
    except NumberParseException:
        return canonical
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def tel_uri(canonical: str) -> str:
    """``tel:`` link for a canonical key, so a tap in an email or Telegram dials back."""
    return "tel:" + canonical
