"""Mango Office: the notifications of calls in progress (mango_notifications)

Revision ID: 0006
Revises: 0005

Mango sends one call as many requests (a leg's states, then a summary); the
adapter keeps each as a row until the call's events can be made
(notifier.services.mango_calls). A new table only: nothing existing changes.

(Other PBX adapters may add migrations after 0004 at the same time: whoever
merges second points ``down_revision`` at the other's revision.)
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mango_notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.String(length=128), nullable=False),
    sa.Column('call_id', sa.String(length=128), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mango_notifications')),
    sa.UniqueConstraint('entry_id', 'call_id', 'seq', name='uq_mango_notifications_entry_call_seq')
    )
    with op.batch_alter_table('mango_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mango_notifications_received_at'), ['received_at'], unique=False)



def downgrade():
    with op.batch_alter_table('mango_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mango_notifications_received_at'))

    op.drop_table('mango_notifications')
