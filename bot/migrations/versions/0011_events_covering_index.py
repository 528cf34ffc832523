"""events (action, at, case_id, body_code): the figures' counts read the index alone

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:30:00

`bot.cases.stats` counts a period's events by their body, joined to their cases. With the case
id and the body in the (action, at) index, the count of openings no longer reads the events
table (whose rows carry the JSON data): on SQLite at 100,000 cases over a year that part takes
300 ms instead of 460, the year's figures ~7% less CPU. It replaces the narrower index, so
writes keep the same number of indexes.
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_action_at')
        batch_op.create_index('ix_events_action_at', ['action', 'at', 'case_id', 'body_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_action_at')
        batch_op.create_index('ix_events_action_at', ['action', 'at'], unique=False)
