"""telegram updates: each Telegram update stored once, kept until handled

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('telegram_updates',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('notified', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('update_id')
    )
    with op.batch_alter_table('telegram_updates', schema=None) as batch_op:
        batch_op.create_index('ix_telegram_updates_chat', ['chat_id', 'status', 'update_id'], unique=False)
        batch_op.create_index('ix_telegram_updates_due', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('telegram_updates', schema=None) as batch_op:
        batch_op.drop_index('ix_telegram_updates_due')
        batch_op.drop_index('ix_telegram_updates_chat')
    op.drop_table('telegram_updates')
