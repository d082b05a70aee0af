"""Missed-call and voicemail notifier for office PBX systems.

``create_app()`` is the application factory; extensions are wired with
``init_app`` so tests, the web server and the worker each build their own app.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

from notifier import config as config_module
from notifier.extensions import csrf, init_db, init_migrate, mail

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH") or str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    if test_config and test_config.get("INSTANCE_PATH"):
        app.instance_path = test_config["INSTANCE_PATH"]
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    config_module.make_private(app.instance_path)

    app.config.update(config_module.DEFAULTS)
    app.config.update(config_module.from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
    if not app.config.get("REDIS_URL"):
        app.config["REDIS_URL"] = f"unix://{Path(app.instance_path) / 'redis' / 'redis.sock'}"

    if app.config["TRUSTED_PROXIES"]:
        # The client address (login throttling) and scheme (HSTS) from the
        # proxies' headers; the host is taken from PUBLIC_URL, not from them.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    from notifier.web import request_limits

    request_limits.init_app(app)  # first: the routes registered below use its converter
    init_db(app)
    init_migrate(app)
    csrf.init_app(app)
    mail.init_app(app)

    from notifier import (
        api,
        models,  # noqa: F401  (register the tables with the metadata)
    )
    from notifier.runtime import cli
    from notifier.runtime.serving import BufferedBody
    from notifier.web import auth, security, views

    security.init_app(app)
    auth.init_app(app)
    api.init_app(app)
    views.init_app(app)
    cli.init_app(app)
    app.wsgi_app = BufferedBody(app.wsgi_app, lambda: app.config.get("MAX_CONTENT_LENGTH"))

    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return app
