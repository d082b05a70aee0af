"""Showing a stored moment in the company zone; UTC where the zone's time is out of range."""
from datetime import datetime, timedelta, timezone

import pytest

from notifier.core.localtime import in_zone

UTC = timezone.utc


@pytest.mark.parametrize("moment, zone, shown, shown_zone", [
    (datetime(2026, 11, 25, 7, 15, tzinfo=UTC), "Europe/Moscow", "2026-11-25 10:15", "Europe/Moscow"),
    (datetime(9999, 12, 31, 20, 59, tzinfo=UTC), "Europe/Moscow", "9999-12-31 23:59", "Europe/Moscow"),
    (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "Europe/Moscow", "9999-12-31 23:59", "UTC"),
    (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "America/New_York", "9999-12-31 18:59", "America/New_York"),
    (datetime(1, 1, 1, 0, 0, tzinfo=UTC), "America/New_York", "1-01-01 00:00", "UTC"),
    (datetime(1, 1, 1, 0, 0, tzinfo=UTC), "Asia/Tokyo", "1-01-01 09:18", "Asia/Tokyo"),  # local mean time
    (datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=23, minutes=59))), "America/New_York",
     "1-01-01 00:00", "UTC+23:59"),
])
def test_in_zone(moment, zone, shown, shown_zone):
    local, name = in_zone(moment, zone)
    assert (local.strftime("%Y-%m-%d %H:%M"), name) == (shown, shown_zone)
