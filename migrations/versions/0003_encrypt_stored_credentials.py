"""Encrypt the credentials that settings rows hold in clear

Revision ID: 0003
Revises: 0002

SMTP password, bot token and Telegram webhook secret (the list is
notifier.stored_secrets.SECRET_FIELDS) saved before encryption existed are
encrypted with the app's key; the app reads either form, so this only makes
database dumps and backups stop showing them.
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    from notifier.stored_secrets import seal_stored_rows

    seal_stored_rows(op.get_bind())


def downgrade():
    from notifier.stored_secrets import open_stored_rows

    open_stored_rows(op.get_bind())
