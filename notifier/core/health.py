"""What ``/health`` concludes from what it saw: pure, time passed in.

A check is *critical* when notifications cannot flow without it (database,
Redis, a live worker, and the AMI connection when Asterisk is the PBX); one of
those down makes the app "down" (HTTP 503). A non-critical check down (the
Telegram poller, which only links employees to the bot; sending goes through
the worker) makes it "degraded", still 200, so an orchestrator does not restart
a container that is otherwise delivering.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

# An idle RQ worker beats before each wait for jobs (every 15 s here, see
# notifier.pipeline.worker.MAINTENANCE_INTERVAL) and every 5 s while a job runs.
# Four missed beats: the worker is gone (killed, frozen) even if its key lingers.
WORKER_STALE_SECONDS = 60

CRITICAL = ("database", "redis", "worker", "ami")


def freshest_age(beats: Iterable[datetime | None], now: datetime) -> float | None:
    """Seconds since the most recent heartbeat, None when there is none."""
    known = [b for b in beats if b is not None]
    return None if not known else max(0.0, (now - max(known)).total_seconds())


def alive(age: float | None, stale_after: float) -> bool:
    return age is not None and age <= stale_after


def verdict(checks: Mapping[str, Mapping]) -> tuple[str, int]:
    """("ok" | "degraded" | "down", HTTP status) from ``{name: {"ok": bool, ...}}``.

    A check without "ok" (e.g. Telegram not configured) does not count."""
    failed = [name for name, check in checks.items() if check.get("ok") is False]
    if any(name in CRITICAL for name in failed):
        return "down", 503
    return ("degraded", 200) if failed else ("ok", 200)
