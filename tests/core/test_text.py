"""Invisible format characters (bidi controls, zero-width characters) as a table of cases."""
import unicodedata

import pytest

from notifier.core.text import escape_format, strip_format

# The ranges the issue names, and the rest of category Cf people meet.
LISTED = ([chr(c) for c in range(0x200B, 0x2010)] + [chr(c) for c in range(0x202A, 0x202F)]
          + [chr(c) for c in range(0x2060, 0x2065)] + [chr(c) for c in range(0x2066, 0x206A)] + ["\ufeff"])
OTHERS = ["\u00ad", "\u061c", "\u180e", "\ufff9", "\ufffb", "\U000e0001", "\U000e0041", "\U000e007f"]


@pytest.mark.parametrize("ch", LISTED + OTHERS, ids=lambda ch: f"U+{ord(ch):04X}")
def test_every_format_character_is_stripped(ch):
    assert unicodedata.category(ch) == "Cf"
    assert strip_format(f"Ива{ch}нов{ch}") == "Иванов"
    assert strip_format(ch * 3) == ""


@pytest.mark.parametrize("raw, expected", [
    ("Иванов Иван", "Иванов Иван"),
    ("Ivanov", "Ivanov"),
    ("", ""),
    ("\u202eвонавИ", "вонавИ"),                          # RIGHT-TO-LEFT OVERRIDE
    ("Иванов\u2066\u202eтеП\u2069", "ИвановтеП"),      # an isolate around an override
    ("Ива\u200bнов", "Иванов"),                         # ZERO WIDTH SPACE
    ("\ufeffИванов", "Иванов"),                         # a BOM from a CSV cell
    ("ООО «Ромашка» & <b>", "ООО «Ромашка» & <b>"),     # visible punctuation and markup stay (escaping is elsewhere)
    ("Line\nnext\tтаб", "Line\nnext\tтаб"),             # control characters are other checks' business
    ("Ёжик 🦔", "Ёжик 🦔"),                              # emoji stay
    ("\u05e9\u05dc\u05d5\u05dd", "\u05e9\u05dc\u05d5\u05dd"),  # right-to-left letters themselves stay
    ("\u00a0\u2003", "\u00a0\u2003"),                   # visible spaces (Zs) stay
])
def test_strip_format(raw, expected):
    assert strip_format(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("Иванов", "Иванов"),
    ("ab", "ab"),
    ("a\u202eb", "a\\u202eb"),
    ("\u200b\ufeff", "\\u200b\\ufeff"),
    ("флаг \U000e0067", "флаг \\udb40\\udc67"),
])
def test_escape_format_shows_them(raw, expected):
    assert escape_format(raw) == expected
