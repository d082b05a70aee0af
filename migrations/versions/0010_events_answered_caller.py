"""events: partial index of answered calls by caller (ix_events_answered_caller)

Revision ID: 0010
Revises: 0009

A missed call processed after the call that called it back (events reported
late, or two workers at once) looks that call up among the stored events
(notifier.services.missed_calls); this keeps the look-up indexed. Partial
(``result = 'answered'``), so other events cost nothing more to store.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_answered_caller', ['caller_key', 'started_at'], unique=False,
                              postgresql_where=sa.text("result = 'answered'"),
                              sqlite_where=sa.text("result = 'answered'"))


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_answered_caller', postgresql_where=sa.text("result = 'answered'"),
                            sqlite_where=sa.text("result = 'answered'"))
