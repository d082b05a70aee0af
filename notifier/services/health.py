"""What ``/health`` and the header's status line look at: the database, Redis,
the RQ workers' heartbeats, the Telegram poller and the Asterisk AMI connection.

Cheap, because ``/health`` is probed often: one ``SELECT 1``, one settings read
and one Redis round trip for the set of workers plus one pipelined round trip
for their heartbeats, the poller's lock and the AMI key. Nothing secret goes
out: no addresses, no exception texts (a driver's message may hold a URL with
its password), only fixed words.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from flask import current_app
from redis.exceptions import RedisError
from rq.utils import utcparse
from rq.worker_registration import REDIS_WORKER_KEYS
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from notifier.core import health as core
from notifier.extensions import db
from notifier.models import Event
from notifier.pbx import asterisk
from notifier.pipeline import asterisk_listener
from notifier.runtime.redis_conn import get_redis
from notifier.services import settings
from notifier.telegram import bot
from notifier.telegram.poller import LOCK_KEY as POLLER_LOCK_KEY

log = logging.getLogger(__name__)



def _now() -> datetime:
    return datetime.now(timezone.utc)


def _database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True}
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("health: database unreachable", exc_info=True)
        return {"ok": False, "error": "нет соединения с базой данных"}


def _telegram_mode(db_ok: bool) -> str | None:
    """"polling" / "webhook" when a bot is configured, None when not (or unknown: database down)."""
    if not db_ok:
        return None
    try:
        if not settings.telegram().configured:
            return None
        return "webhook" if bot.webhook_url() else "polling"
    except SQLAlchemyError:
        db.session.rollback()
        return None


def _ami_configured(db_ok: bool) -> bool:
    """ASTERISK_AMI_URL in the environment or saved in Settings (as the listener reads it)."""
    if current_app.config.get(asterisk.URL_KEY):
        return True
    if not db_ok:
        return False
    try:
        return bool(settings.pbx_credentials(asterisk.VENDOR).get(asterisk.URL_KEY))
    except SQLAlchemyError:
        db.session.rollback()
        return False


def _worker_beats(redis) -> tuple[list[datetime | None], bool, str | None]:
    """The workers' last heartbeats, whether the poller's lock is held, the AMI connection's state.

    The AMI listener rewrites its status while connected with a short TTL
    (asterisk_listener.STATUS_TTL), so a dead worker's "connected" expires."""
    names = sorted(n.decode() if isinstance(n, bytes) else n for n in redis.smembers(REDIS_WORKER_KEYS))
    with redis.pipeline(transaction=False) as pipe:
        for key in names:
            pipe.hget(key, "last_heartbeat")
        pipe.exists(POLLER_LOCK_KEY)
        pipe.get(asterisk_listener.STATUS_KEY)
        *beats, poller_lock, ami = pipe.execute()
    parsed = []
    for raw in beats:
        try:
            parsed.append(utcparse(raw.decode()) if raw else None)
        except ValueError:
            parsed.append(None)
    try:
        ami_state = json.loads(ami).get("state") if ami else None
    except (ValueError, AttributeError):
        ami_state = None
    return parsed, bool(poller_lock), ami_state


def live_workers(now: datetime | None = None) -> int | None:
    """How many RQ workers beat recently; None when Redis cannot be asked (for the header)."""
    now = now or _now()
    try:
        beats, _, _ = _worker_beats(get_redis())
    except RedisError:
        return None
    return _fresh(beats, now)


def _fresh(beats: list[datetime | None], now: datetime) -> int:
    return sum(1 for b in beats if core.alive(core.freshest_age([b], now), core.WORKER_STALE_SECONDS))


def report(now: datetime | None = None) -> tuple[dict, int]:
    """The JSON ``/health`` answers and its HTTP status."""
    now = now or _now()
    checks: dict[str, dict] = {"database": _database()}
    db_ok = checks["database"]["ok"]
    mode = _telegram_mode(db_ok)
    ami_wanted = _ami_configured(db_ok)
    try:
        beats, poller_lock, ami_state = _worker_beats(get_redis())
        checks["redis"] = {"ok": True}
    except RedisError:
        log.warning("health: Redis unreachable", exc_info=True)
        checks["redis"] = {"ok": False, "error": "нет соединения с Redis"}
        beats, poller_lock, ami_state = None, None, None

    if beats is None:
        checks["worker"] = {"ok": False, "error": "неизвестно: Redis недоступен"}
    else:
        age = core.freshest_age(beats, now)
        fresh = _fresh(beats, now)
        checks["worker"] = {"ok": fresh > 0, "workers": fresh,
                            "last_heartbeat_seconds_ago": None if age is None else round(age)}
        if not fresh:
            checks["worker"]["error"] = "обработчик не запущен или не отвечает"

    if mode is None:
        checks["telegram_poller"] = {"configured": False}
    elif mode == "webhook":
        checks["telegram_poller"] = {"configured": True, "mode": "webhook"}  # Telegram calls us: no poller
    else:
        checks["telegram_poller"] = {"configured": True, "mode": "polling", "ok": bool(poller_lock)}
        if poller_lock is False:
            checks["telegram_poller"]["error"] = "бот не получает сообщения: опрос Telegram не идёт"
        elif poller_lock is None:
            checks["telegram_poller"]["error"] = "неизвестно: Redis недоступен"

    if not ami_wanted:
        checks["ami"] = {"configured": False}
    else:
        ok = ami_state == asterisk_listener.CONNECTED
        # only the state word: the status's detail and target name the PBX's host
        checks["ami"] = {"configured": True, "ok": ok, "state": ami_state or "unknown"}
        if not ok:
            checks["ami"]["error"] = "нет соединения с Asterisk (AMI)"

    status, code = core.verdict(checks)
    return {"status": status, "checks": checks}, code


def last_pbx_event_at() -> datetime | None:
    """When the newest event arrived (indexed column: one cheap query)."""
    return db.session.execute(select(func.max(Event.received_at))).scalar()
