"""indexes for the console's read side (bot.cases.queries)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00

- cases (state, due_at, sign_due_at) instead of (state, due_at): queue counts and the overdue
  and due-soon queues read the index alone;
- cases (body_code, state) widened with the two deadlines, for the same reason;
- cases (agent_code, state, due_at, sign_due_at) and (area_code, state, due_at, sign_due_at):
  an agent's queues and counts (their cases, and their 点's), the open ones read from the index;
- events (case_id, action, seq): a case's last resolution and whether it was rated since (待回访),
  its first reply, its pending extension request;
- events (actor, action): the cases an operator opened.
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_state_due')
        batch_op.create_index('ix_cases_state_deadlines', ['state', 'due_at', 'sign_due_at'],
                              unique=False)
        batch_op.drop_index('ix_cases_body_state')
        batch_op.create_index('ix_cases_body_state',
                              ['body_code', 'state', 'due_at', 'sign_due_at'], unique=False)
        batch_op.create_index('ix_cases_agent_state',
                              ['agent_code', 'state', 'due_at', 'sign_due_at'], unique=False)
        batch_op.create_index('ix_cases_area_state',
                              ['area_code', 'state', 'due_at', 'sign_due_at'], unique=False)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_case_action', ['case_id', 'action', 'seq'], unique=False)
        batch_op.create_index('ix_events_actor', ['actor', 'action'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_actor')
        batch_op.drop_index('ix_events_case_action')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_area_state')
        batch_op.drop_index('ix_cases_body_state')
        batch_op.create_index('ix_cases_body_state', ['body_code', 'state'], unique=False)
        batch_op.drop_index('ix_cases_agent_state')
        batch_op.drop_index('ix_cases_state_deadlines')
        batch_op.create_index('ix_cases_state_due', ['state', 'due_at'], unique=False)
