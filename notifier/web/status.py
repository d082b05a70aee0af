"""The status line in the header: is the worker alive, are mail and Telegram
working, when did the PBX last send an event; each part links to Settings, so
an admin sees at once why nothing arrives.

Computed at most once per page, and only for full pages of a signed-in admin
(htmx fragments do not render the header): two Redis round trips and three
small queries (mail and Telegram status, the newest event's time).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, g, url_for
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from notifier.channels import checks
from notifier.extensions import db
from notifier.services import health, settings

log = logging.getLogger(__name__)

_TONES = {"unconfigured": "warn", "configured": "", "working": "ok", "error": "bad"}


@dataclass(frozen=True)
class Part:
    name: str    # «Обработчик», «Почта», «Telegram», «АТС»
    state: str   # the words shown after the name: the state is text, colour only repeats it
    tone: str    # "ok" | "warn" | "bad" | "" (the badge's class)
    href: str
    hint: str = ""  # the title: what to do about it


def _worker() -> Part:
    live = health.live_workers()
    href = url_for("settings.index")
    if live is None:
        return Part("Обработчик", "Redis недоступен", "bad", href, "Без Redis события не обрабатываются")
    if not live:
        return Part("Обработчик", "не запущен", "bad", href,
                    "Уведомления не отправляются: запустите worker.py (make run запускает его сам)")
    return Part("Обработчик", "работает", "ok", href)


def _channel(name: str, channel: str, configured: bool, anchor: str) -> Part:
    st = checks.status(channel, configured)
    hint = st.error or ("Не настроено: уведомления этим способом не отправляются" if st.state == "unconfigured" else "")
    tone = _TONES[st.state]
    if channel == checks.TELEGRAM and st.state == "unconfigured":
        tone = ""  # Telegram is optional; mail alone is a working setup
    return Part(name, st.label, tone, url_for("settings.index", _anchor=anchor), hint)


def _pbx(local_dt) -> Part:
    at = health.last_pbx_event_at()
    href = url_for("settings.index", _anchor="pbx")
    if at is None:
        return Part("АТС", "событий ещё не было", "warn", href, "Укажите адрес приёма событий в настройках АТС")
    return Part("АТС", "последнее событие " + local_dt(at), "", href)


def glance() -> list[Part]:
    """The header's parts, once per request (kept on ``g``); empty when they cannot be read."""
    if "status_glance" not in g:
        from flask import current_app

        local_dt = current_app.jinja_env.filters["local_dt"]
        try:
            g.status_glance = [_worker(),
                               _channel("Почта", checks.MAIL, settings.mail().configured, "mail"),
                               _channel("Telegram", checks.TELEGRAM, settings.telegram().configured, "telegram"),
                               _pbx(local_dt)]
        except (SQLAlchemyError, RedisError):
            db.session.rollback()
            log.warning("header status unavailable", exc_info=True)
            g.status_glance = []
    return g.status_glance


def init_app(app: Flask) -> None:
    @app.context_processor
    def _status():
        return {"status_glance": glance}
