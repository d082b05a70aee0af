"""pbx_call_marks: what a PBX said earlier about a call it reports over several requests

Revision ID: 0005
Revises: 0004

Zadarma reports a ring per extension (``NOTIFY_INTERNAL``) and the call's end
(``NOTIFY_END``) in separate requests; the marks of the first are kept here
until the second is translated (notifier.services.pbx_calls).
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pbx_call_marks',
    sa.Column('vendor', sa.String(length=16), nullable=False),
    sa.Column('call_id', sa.String(length=128), nullable=False),
    sa.Column('mark', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('vendor', 'call_id', 'mark', name=op.f('pk_pbx_call_marks'))
    )
    with op.batch_alter_table('pbx_call_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pbx_call_marks_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('pbx_call_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pbx_call_marks_created_at'))
    op.drop_table('pbx_call_marks')
