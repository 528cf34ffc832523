"""webchat inbox and pending

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:39:14.547549
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webchat_inbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('session', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('case_number', sa.String(length=32), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webchat_inbox', schema=None) as batch_op:
        batch_op.create_index('ix_webchat_inbox_session', ['session', 'delivered_at'], unique=False)

    op.create_table('webchat_pending',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('session', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=48), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('webchat_pending', schema=None) as batch_op:
        batch_op.create_index('ix_webchat_pending_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_webchat_pending_session', ['session', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('webchat_pending', schema=None) as batch_op:
        batch_op.drop_index('ix_webchat_pending_session')
        batch_op.drop_index('ix_webchat_pending_due')

    op.drop_table('webchat_pending')
    with op.batch_alter_table('webchat_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_webchat_inbox_session')

    op.drop_table('webchat_inbox')
