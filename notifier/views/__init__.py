"""Server-rendered UI pages (Jinja + htmx), one module per section."""
from __future__ import annotations

from flask import Flask

from .. import errors


def init_app(app: Flask) -> None:
    from . import pages, rules

    errors.init_app(app)
    app.register_blueprint(rules.bp)
    app.register_blueprint(pages.bp)

    @app.template_filter("local_dt")
    def _local_dt(value, fmt="%d.%m.%Y %H:%M"):
        """Show a UTC datetime in the company time zone."""
        from zoneinfo import ZoneInfo

        if value is None:
            return "—"
        return value.astimezone(ZoneInfo(app.config["TIMEZONE"])).strftime(fmt)

    @app.context_processor
    def _layout():
        from flask import request

        return {"is_htmx": bool(request.headers.get("HX-Request")) and not request.headers.get("HX-Boosted")}
