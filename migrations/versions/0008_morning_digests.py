"""morning_digests and digest_sends: the morning digest, once per employee and day (issue 16)

Revision ID: 0008
Revises: 0007

A digest row is claimed (unique per employee and working day) before anything
is sent; its sends per channel carry a lease and retries like deliveries
(notifier.pipeline.digest). New tables only: nothing existing changes. The
opt-in is the rule's ``morning_digest`` in its criteria JSON, no column.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('morning_digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('missed_call_ids', sa.JSON(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_morning_digests_subscriber_id_subscribers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_morning_digests')),
    sa.UniqueConstraint('subscriber_id', 'day', name='uq_morning_digests_subscriber_day')
    )
    op.create_table('digest_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['digest_id'], ['morning_digests.id'], name=op.f('fk_digest_sends_digest_id_morning_digests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_sends')),
    sa.UniqueConstraint('digest_id', 'channel', name='uq_digest_sends_digest_channel')
    )
    with op.batch_alter_table('digest_sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_sends_digest_id'), ['digest_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_digest_sends_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('digest_sends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_sends_status'))
        batch_op.drop_index(batch_op.f('ix_digest_sends_digest_id'))

    op.drop_table('digest_sends')
    op.drop_table('morning_digests')
