"""A stored moment in a time zone, for display, whatever the moment.

Intake accepts only plausible times (``core.events``), but a row written
before that check, by hand or by a restore may hold any datetime, and turning
year 9999 (or year 1) into a zone ahead of (behind) UTC leaves datetime's
range: OverflowError. One such row must not take down the «Журнал» or a
notification, so the moment is then shown in UTC and says so.
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def in_zone(moment: datetime, zone: str) -> tuple[datetime, str]:
    """(``moment`` in ``zone``, ``zone``), or in UTC and "UTC" when the zone's
    time would be out of range; unchanged when even UTC is (an odd offset)."""
    try:
        return moment.astimezone(ZoneInfo(zone)), zone
    except OverflowError:
        pass
    try:
        return moment.astimezone(timezone.utc), "UTC"
    except OverflowError:
        return moment, moment.tzname() or "UTC"
