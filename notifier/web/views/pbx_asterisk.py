"""The Asterisk card's extras in «Подключение АТС» (templates/settings/_pbx_asterisk.html):
whether the worker's AMI connection is up (the status its listener keeps in
Redis) and «Проверить подключение», a login with the configured address."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import redis
from flask import flash, redirect, url_for

from notifier.pbx import ami, asterisk
from notifier.pipeline import asterisk_listener as listener
from notifier.runtime.redis_conn import get_redis
from notifier.services import settings
from notifier.web.views.pbx import bp

STATES = {  # listener state -> (Russian label, badge tone)
    listener.CONNECTED: ("подключено", "ok"),
    listener.CONNECTING: ("подключается…", "info"),
    listener.REFUSED: ("АТС не пустила: неверное имя или пароль", "bad"),
    listener.FAILED: ("нет связи с АТС", "bad"),
    listener.OFF: ("адрес AMI не задан", "warn"),
}


@dataclass
class AmiConnection:
    state: str
    label: str
    tone: str
    detail: str = ""
    target: str = ""
    at: datetime | None = None
    since: datetime | None = None

    @property
    def up(self) -> bool:
        return self.state == listener.CONNECTED


def _time(raw) -> datetime | None:
    try:
        return datetime.fromisoformat(raw) if raw else None
    except (TypeError, ValueError):
        return None


@bp.app_template_global("asterisk_connection")
def connection() -> AmiConnection:
    """The AMI connection as the worker holding it last wrote it."""
    try:
        status = listener.read_status(get_redis())
    except redis.RedisError:
        return AmiConnection("unknown", "неизвестно: Redis недоступен", "warn")
    if status is None:
        return AmiConnection("none", "не подключено: воркер (python worker.py) не запущен или ещё не подключался",
                             "warn")
    label, tone = STATES.get(status.get("state"), (status.get("state") or "?", "warn"))
    return AmiConnection(status.get("state", ""), label, tone, status.get("detail", ""), status.get("target", ""),
                         _time(status.get("at")), _time(status.get("since")))


@bp.post("/asterisk/check")
def check_asterisk():
    """Log in to AMI with the configured address now, and say how it went."""
    url = settings.pbx_credentials(asterisk.VENDOR).get(asterisk.URL_KEY)
    try:
        target = asterisk.parse_url(url)
    except ValueError as err:
        flash(f"Проверка AMI: {err}.", "error")
    else:
        ok, message = ami.check(target.host, target.port, target.username, target.secret)
        flash(f"Проверка AMI: {message}", "success" if ok else "error")
    return redirect(url_for("settings.index") + "#pbx-asterisk")
