"""Field checks shared by employees and contacts (UI forms, API, CSV import).

Pure functions: each takes what the admin sent and returns the value to store
or raises :class:`FieldError` with a Russian message for the field. Text is
stored as typed (HTML, quotes and newlines included; templates escape it),
only surrounding blanks decide whether a field is empty. Invisible format
characters (bidi overrides, zero-width spaces: ``core.text``) are dropped
first, so no stored name can pose as another in the UI, an email or Telegram.
"""
from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from notifier.core.phones import InvalidNumber, normalize
from notifier.core.text import strip_format

NAME_MAX = 200
EMAIL_MAX = 254
NUMBER_MAX = 64
TELEGRAM = re.compile(r"[A-Za-z0-9_]{4,32}")
# Control characters other than tab and newlines: PostgreSQL refuses NUL in
# text, and none of them belongs in a name or a search box.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class FieldError(ValueError):
    """One value the admin must correct; ``str()`` is the message. The caller
    knows the field's name and gathers these into one FieldErrors."""


def text(value, *, required: bool, max_len: int, missing: str = "Заполните поле") -> str:
    """A string as typed, less format characters; blank counts as missing."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise FieldError("Должно быть строкой")
    value = strip_format(value)
    if _CONTROL.search(value):
        raise FieldError("Недопустимый управляющий символ")
    if not value.strip():
        if required:
            raise FieldError(missing)
        return ""
    if len(value) > max_len:
        raise FieldError(f"Не длиннее {max_len} символов")
    return value


def query(value: str | None, max_len: int = 100) -> str:
    """A search box query without control characters (a NUL would make
    PostgreSQL fail the whole query) or format characters (stored names have none)."""
    return strip_format(_CONTROL.sub("", value or "")).strip()[:max_len]


def number(value) -> tuple[str, str]:
    """(the number as typed, its canonical key); extensions and phone numbers.

    A number given as a JSON integer (``102``) is taken as its digits.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    raw = text(value, required=True, max_len=NUMBER_MAX, missing="Укажите номер").strip()
    try:
        key = normalize(raw)
    except InvalidNumber as e:
        raise FieldError(str(e)) from None
    if key is None:
        raise FieldError(f"Неверный номер телефона: «{raw}»")
    return raw, key


def email(value) -> str | None:
    """An address with valid syntax (the domain is not looked up), or None."""
    raw = text(value, required=False, max_len=EMAIL_MAX).strip()
    if not raw:
        return None
    try:
        validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        raise FieldError("Неверный email, нужен адрес вида ivanov@example.com") from None
    return raw


def telegram(value) -> str | None:
    """A Telegram @username (typed with or without «@», or as a t.me link), kept as «@name»."""
    raw = text(value, required=False, max_len=64).strip()
    if not raw:
        return None
    name = re.sub(r"^(https?://)?(t\.me|telegram\.me)/", "", raw, flags=re.I).lstrip("@")
    if not TELEGRAM.fullmatch(name):
        raise FieldError("Укажите имя пользователя Telegram: @ivanov (латиница, цифры и «_», от 4 до 32 символов)")
    return "@" + name


def flag(value) -> bool:
    """A yes/no value: JSON booleans, or what people write in a spreadsheet."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int):
        if value in (0, 1):
            return bool(value)
        raise FieldError("Укажите да или нет")
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("", "0", "нет", "no", "false", "n", "н", "-"):
            return False
        if word in ("1", "да", "yes", "true", "y", "д", "+", "x", "х", "vip", "on"):
            return True
    raise FieldError("Укажите да или нет")
