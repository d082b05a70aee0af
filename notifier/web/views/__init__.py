"""Server-rendered UI pages (Jinja + htmx), one module per section."""
from __future__ import annotations

from flask import Flask

from notifier.core import localtime
from notifier.services.settings import company_timezone
from notifier.web import errors, htmx


def init_app(app: Flask) -> None:
    from notifier.web import status
    from notifier.web.views import contacts, log, missed, pbx, rules, schedule, settings, subscribers, telegram

    errors.init_app(app)
    htmx.init_app(app)
    status.init_app(app)
    for module in (rules, subscribers, contacts, schedule, log, missed, settings, pbx, telegram):
        app.register_blueprint(module.bp)

    @app.template_filter("local_dt")
    def _local_dt(value, fmt="%d.%m.%Y %H:%M"):
        """A UTC datetime shown in the company time zone (in UTC, marked so, where that zone's time is out of range)."""
        if value is None:
            return "—"
        zone = company_timezone()
        moment, shown_zone = localtime.in_zone(value, zone)
        text = moment.strftime(fmt)
        return text if shown_zone == zone else f"{text} {shown_zone}"
