"""``flask --app app ...`` commands for provisioning without a browser."""
from __future__ import annotations

import click
from flask import Flask

from notifier.web.auth import MIN_PASSWORD, create_or_reset_admin, new_setup_link


def init_app(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--password", required=True)
    def create_admin(email: str, password: str):
        """Create an admin account, or reset its password."""
        if len(password) < MIN_PASSWORD:
            raise click.BadParameter(f"at least {MIN_PASSWORD} characters", param_hint="--password")
        if "@" not in email:
            raise click.BadParameter("not an email address", param_hint="--email")
        user = create_or_reset_admin(email, password)
        click.echo(f"admin {user.email} is ready")

    @app.cli.command("setup-link")
    @click.option("--base-url", default="http://127.0.0.1:8000")
    def setup_link(base_url: str):
        """Print a fresh one-time setup link (only while no admin exists)."""
        link = new_setup_link(base_url)
        click.echo(link or "an admin exists already: log in, or use create-admin to reset a password")
