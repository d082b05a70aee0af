"""Telegram messages about missed calls, kept to edit them (telegram_messages,
telegram_message_events)

Revision ID: 0009
Revises: 0008

Issue 16: one message per caller, the «Перезвоню» button, and the message
edited once the caller is called back (notifier.services.telegram_threads).
New tables only: nothing existing changes.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('telegram_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('caller_key', sa.String(length=32), nullable=True),
    sa.Column('open_key', sa.String(length=64), nullable=True),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('missed_count', sa.Integer(), nullable=False),
    sa.Column('first_missed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_missed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('taken_by', sa.String(length=200), nullable=True),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=200), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_after', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('shown_version', sa.Integer(), nullable=False),
    sa.Column('edit_attempts', sa.Integer(), nullable=False),
    sa.Column('edit_next_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('edit_locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('edit_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'],
                            name=op.f('fk_telegram_messages_subscriber_id_subscribers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telegram_messages')),
    sa.UniqueConstraint('open_key', name=op.f('uq_telegram_messages_open_key'))
    )
    with op.batch_alter_table('telegram_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telegram_messages_subscriber_id'), ['subscriber_id'], unique=False)
        batch_op.create_index('ix_telegram_messages_edit_due', ['shown_version', 'version'], unique=False)

    op.create_table('telegram_message_events',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('telegram_message_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'],
                            name=op.f('fk_telegram_message_events_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'],
                            name=op.f('fk_telegram_message_events_subscriber_id_subscribers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['telegram_message_id'], ['telegram_messages.id'],
                            name=op.f('fk_telegram_message_events_telegram_message_id_telegram_messages'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'subscriber_id', name=op.f('pk_telegram_message_events'))
    )
    with op.batch_alter_table('telegram_message_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telegram_message_events_telegram_message_id'),
                              ['telegram_message_id'], unique=False)


def downgrade():
    with op.batch_alter_table('telegram_message_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_message_events_telegram_message_id'))
    op.drop_table('telegram_message_events')
    with op.batch_alter_table('telegram_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_telegram_messages_edit_due')
        batch_op.drop_index(batch_op.f('ix_telegram_messages_subscriber_id'))
    op.drop_table('telegram_messages')
