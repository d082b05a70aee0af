"""«С чего начать»: the steps from a fresh install to the first notification,
each ticked from real state (facts gathered by notifier.services.onboarding).

The order is the one things depend on: a rule names an employee; a rule
notifies through a working channel; only then is the PBX's first event worth
sending.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Facts:
    employees: int
    rules: int
    mail: str       # notifier.channels.checks state: "unconfigured" | "configured" | "working" | "error"
    telegram: str   # the same for the bot
    events: int     # events received from the PBX (or its test events)


@dataclass(frozen=True)
class Step:
    key: str     # "employee" | "rule" | "channel" | "pbx": the view maps it to a link
    title: str
    done: bool
    detail: str  # what is true now, in words


_STATE = {"unconfigured": "не настроено", "configured": "настроено, но ещё не проверено",
          "working": "работает", "error": "последняя попытка не удалась"}


def steps(f: Facts) -> list[Step]:
    channel_done = f.mail == "working" or f.telegram == "working"
    return [
        Step("employee", "Добавьте сотрудника", f.employees > 0,
             f"сотрудников: {f.employees}" if f.employees else "сотрудников пока нет"),
        Step("rule", "Создайте правило уведомлений", f.rules > 0,
             f"правил: {f.rules}" if f.rules else "правил пока нет"),
        Step("channel", "Настройте почту и отправьте тестовое письмо или подключите Telegram-бота", channel_done,
             f"почта: {_STATE[f.mail]}; Telegram: {_STATE[f.telegram]}"),
        Step("pbx", "Укажите в АТС адрес приёма событий и дождитесь первого события", f.events > 0,
             f"событий получено: {f.events}" if f.events else "событий ещё не было"),
    ]
