"""cases (created_at): a period's cases read in order

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 14:00:00

The export's case list (bot/cases/reports.py) and the hot spots' window (bot/cases/hotspots.py)
read the cases opened in a period, oldest first; without an index both scanned and sorted every
case of the store.
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_created', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_created')
