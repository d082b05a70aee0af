"""missed_calls: the callback state of every missed call (issue 16)

Revision ID: 0007
Revises: 0006

One row per missed-call event, opened when the event is processed and closed
by a later answered call to or from that number, or by hand
(notifier.services.missed_calls). A new table only: nothing existing changes;
rows are not back-filled for events processed before this version.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('missed_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=True),
    sa.Column('subscriber_number', sa.String(length=32), nullable=False),
    sa.Column('caller', sa.String(length=64), nullable=False),
    sa.Column('caller_key', sa.String(length=32), nullable=True),
    sa.Column('vip', sa.Boolean(), nullable=False),
    sa.Column('missed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_number', sa.String(length=32), nullable=True),
    sa.Column('resolved_by_subscriber_id', sa.Integer(), nullable=True),
    sa.Column('resolved_by_user_email', sa.String(length=254), nullable=True),
    sa.Column('resolved_how', sa.String(length=16), nullable=True),
    sa.Column('resolved_event_id', sa.Integer(), nullable=True),
    sa.Column('taken_by_subscriber_id', sa.Integer(), nullable=True),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_missed_calls_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_subscriber_id'], ['subscribers.id'], name=op.f('fk_missed_calls_resolved_by_subscriber_id_subscribers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resolved_event_id'], ['events.id'], name=op.f('fk_missed_calls_resolved_event_id_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_missed_calls_subscriber_id_subscribers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['taken_by_subscriber_id'], ['subscribers.id'], name=op.f('fk_missed_calls_taken_by_subscriber_id_subscribers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_missed_calls')),
    sa.UniqueConstraint('event_id', name=op.f('uq_missed_calls_event_id'))
    )
    with op.batch_alter_table('missed_calls', schema=None) as batch_op:
        batch_op.create_index('ix_missed_calls_caller_open', ['caller_key', 'status', 'missed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_missed_calls_missed_at'), ['missed_at'], unique=False)
        batch_op.create_index('ix_missed_calls_status_missed_at', ['status', 'missed_at'], unique=False)
        batch_op.create_index('ix_missed_calls_subscriber_missed_at', ['subscriber_id', 'missed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('missed_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_missed_calls_subscriber_missed_at')
        batch_op.drop_index('ix_missed_calls_status_missed_at')
        batch_op.drop_index(batch_op.f('ix_missed_calls_missed_at'))
        batch_op.drop_index('ix_missed_calls_caller_open')

    op.drop_table('missed_calls')
