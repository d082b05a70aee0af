"""``flask --app app ...`` commands for provisioning without a browser."""
from __future__ import annotations

import click
from flask import Flask

from notifier.core import passwords
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
    @click.option("--base-url", default="http://127.0.0.1:8000")
    def setup_link(base_url: str):
        """Print a fresh one-time setup link (only while no admin exists)."""
        link = new_setup_link(base_url)
        click.echo(link or "an admin exists already: log in, or use create-admin to reset a password")
