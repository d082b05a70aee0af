"""The one exception for input someone must correct, field by field.

Raised by the pure parsers (rule criteria, webhook events, working hours) and
by the services (employees, contacts, rules, CSV import) alike, so every caller
handles bad input one way: the API answers ``{"errors": {field: message}}``
with 422 (409 when ``conflict``), the webhook the same 422, and a screen
re-renders its form with each message next to its field.
"""
from __future__ import annotations

from collections.abc import Mapping


class FieldErrors(ValueError):
    """``errors`` maps each bad field (or field path, e.g. ``time.period.from``)
    to its message. ``conflict`` marks a value clashing with a stored one (a
    number already in use: 409 in the API) rather than a malformed one (422)."""

    def __init__(self, errors: Mapping[str, str], conflict: bool = False):
        self.errors = dict(errors)
        self.conflict = conflict
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))
