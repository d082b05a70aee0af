"""PBX adapters: events.source / events.raw, and the pbx_requests counters

Revision ID: 0004
Revises: 0003

``events.source`` names the adapter that translated an event (NULL for the
JSON webhook), ``events.raw`` keeps the vendor's request shown in «Журнал»;
``pbx_requests`` counts each adapter's requests per outcome for the settings
page. Both columns are nullable: events received before stay as they are.
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('raw', sa.JSON(), nullable=True))
    op.create_table('pbx_requests',
    sa.Column('vendor', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_detail', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('vendor', 'outcome', name=op.f('pk_pbx_requests'))
    )


def downgrade():
    op.drop_table('pbx_requests')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('raw')
        batch_op.drop_column('source')
