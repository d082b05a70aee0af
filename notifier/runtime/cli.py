"""``flask --app app ...`` commands for provisioning without a browser."""
from __future__ import annotations

import json

import click
from flask import Flask, current_app, url_for

from notifier.core import passwords
from notifier.services import settings, test_event
from notifier.web.auth import PRODUCT_WORDS, create_or_reset_admin, new_setup_link


def init_app(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--password", required=True)
    def create_admin(email: str, password: str):
        """Create an admin account, or reset its password."""
        if "@" not in email:
            raise click.BadParameter("это не адрес email", param_hint="--email")
        error = passwords.problem(password, (email, *PRODUCT_WORDS))
        if error:
            raise click.BadParameter(error, param_hint="--password")
        user = create_or_reset_admin(email, password)
        click.echo(f"admin {user.email} is ready")

    @app.cli.command("setup-link")
    @click.option("--base-url", default=None, help="default: PUBLIC_URL, else http://127.0.0.1:PORT")
    def setup_link(base_url: str | None):
        """Print a fresh one-time setup link (only while no admin exists)."""
        from notifier.runtime.launcher import setup_base_url

        link = new_setup_link(base_url or setup_base_url(current_app))
        click.echo(link or "an admin exists already: log in, or use create-admin to reset a password")

    @app.cli.command("send-test-event")
    @click.option("--to", "to", required=True, help="the employee's extension or number, e.g. 101")
    @click.option("--missed", "kind", flag_value=test_event.MISSED, default=True, help="a missed call (default)")
    @click.option("--voicemail", "kind", flag_value=test_event.VOICEMAIL, help="a voicemail instead")
    @click.option("--from", "caller", default=test_event.DEFAULT_CALLER, show_default=True, help="the caller's number")
    def send_test_event(to: str, kind: str, caller: str):
        """Send a signed test event through the webhook's intake, as a PBX would."""
        outcome = test_event.send(to, kind, caller)
        if outcome.event_pk is None:
            click.echo(f"not accepted ({outcome.status}): {json.dumps(outcome.answer, ensure_ascii=False)}", err=True)
            raise SystemExit(1)
        base = settings.public_url()
        with app.test_request_context(base_url=base):
            link = url_for("log.detail", pk=outcome.event_pk, _external=True)
        click.echo(f"event {outcome.answer['id']} accepted ({outcome.status}): {link}")
        if outcome.employee is None:
            click.echo(f"note: no employee has the number {to}; «Журнал» will say so (add one in «Абоненты»)")
        click.echo("the worker (make run, or worker.py) decides and sends; open the link to see what happened")
