"""/health's verdict and heartbeat ages, as tables of cases."""
from datetime import datetime, timedelta, timezone

import pytest

from notifier.core.health import WORKER_STALE_SECONDS, alive, freshest_age, verdict

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("beats, age", [
    ([], None),
    ([None], None),
    ([NOW - timedelta(seconds=5)], 5),
    ([NOW - timedelta(seconds=90), None, NOW - timedelta(seconds=12)], 12),
    ([NOW + timedelta(seconds=3)], 0),  # a worker's clock slightly ahead: not negative
])
def test_freshest_age(beats, age):
    assert freshest_age(beats, NOW) == age


@pytest.mark.parametrize("age, expected", [
    (None, False), (0, True), (WORKER_STALE_SECONDS, True), (WORKER_STALE_SECONDS + 1, False),
])
def test_alive(age, expected):
    assert alive(age, WORKER_STALE_SECONDS) is expected


OK, DOWN = {"ok": True}, {"ok": False}


@pytest.mark.parametrize("checks, expected", [
    ({"database": OK, "redis": OK, "worker": OK}, ("ok", 200)),
    ({"database": OK, "redis": OK, "worker": OK, "telegram_poller": {"configured": False},
      "ami": {"configured": False}}, ("ok", 200)),
    ({"database": DOWN, "redis": OK, "worker": OK}, ("down", 503)),
    ({"database": OK, "redis": DOWN, "worker": DOWN}, ("down", 503)),
    ({"database": OK, "redis": OK, "worker": DOWN}, ("down", 503)),
    ({"database": OK, "redis": OK, "worker": OK, "ami": DOWN}, ("down", 503)),
    # the poller only links employees to the bot; sending goes through the worker
    ({"database": OK, "redis": OK, "worker": OK, "telegram_poller": DOWN}, ("degraded", 200)),
    ({"database": OK, "redis": OK, "worker": DOWN, "telegram_poller": DOWN}, ("down", 503)),
])
def test_verdict(checks, expected):
    assert verdict(checks) == expected
