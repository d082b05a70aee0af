"""Invisible format characters, removed from text that people read.

Unicode's format characters (category Cf) draw nothing themselves but change
how the text around them looks: U+202E RIGHT-TO-LEFT OVERRIDE shows the rest
of a name backwards, so a name in the UI, an email subject or a Telegram
message can pass for another; zero-width spaces and joiners make two names
that look the same differ (and a search miss one of them). None of them
belongs in a name, a number or an address, so they are dropped.

All of category Cf, not a hand-kept list, so the set follows Python's Unicode
database: bidi marks, embeddings, overrides and isolates (U+061C, U+200E-U+200F,
U+202A-U+202E, U+2066-U+2069), zero-width characters (U+200B-U+200D,
U+2060-U+2064, U+FEFF), the soft hyphen, interlinear annotation and tag
characters. The price: an emoji joined with U+200D falls apart into its parts,
and Persian loses its zero-width non-joiner; neither matters for an office's
phone book.
"""
from __future__ import annotations

import json
import unicodedata

__all__ = ["escape_format", "strip_format"]


def _is_format(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf"


def strip_format(text: str) -> str:
    """``text`` without format characters (Unicode category Cf)."""
    if text.isascii():  # the common case, and no ASCII character is Cf
        return text
    return "".join(ch for ch in text if not _is_format(ch))


def escape_format(text: str) -> str:
    """``text`` with each format character written as its JSON escape
    (``\\u202e``): what was received is shown, not obeyed."""
    if text.isascii():
        return text
    return "".join(json.dumps(ch)[1:-1] if _is_format(ch) else ch for ch in text)
