"""Server-rendered UI pages (Jinja + htmx), one module per section."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Flask

from notifier.web import errors, htmx
from notifier.services.settings import company_timezone


def init_app(app: Flask) -> None:
    from notifier.web import status
    from notifier.web.views import contacts, log, pbx, rules, schedule, settings, subscribers, telegram

    errors.init_app(app)
    htmx.init_app(app)
    status.init_app(app)
    for module in (rules, subscribers, contacts, schedule, log, settings, pbx, telegram):
        app.register_blueprint(module.bp)

    @app.template_filter("local_dt")
    def _local_dt(value, fmt="%d.%m.%Y %H:%M"):
        """A UTC datetime shown in the company time zone."""
        if value is None:
            return "—"
        return value.astimezone(ZoneInfo(company_timezone())).strftime(fmt)
