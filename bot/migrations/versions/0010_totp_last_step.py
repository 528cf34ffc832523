"""staff_accounts.totp_last_step: a TOTP code is good for one login only

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:00:00

A code stays valid for its 30-second step (and one step either side for clock drift), so
without a record of the last step used, a code seen over a shoulder or in a proxy log could
log in a second time within that minute and a half (RFC 6238, section 5.2).
"""
import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
