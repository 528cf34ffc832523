"""events.next_at, on_time, solved, satisfied: the figures count without windows or JSON

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 20:00:00

`bot.cases.stats` found an assignment's next assignment-or-signing and a case's latest rating
by window functions over the period's events sorted per case, and read deadlines and ratings
from the events' JSON: 40% of a year's figures at 100,000 cases. `CaseService` now writes those
facts on the events (see `EventRow`), and the (action, at) index carries them, so a period's
figures are one GROUP BY over that index joined to a narrow index of the cases (their category,
type, area and body). Existing events get their facts here, from their case's history as the
figures used to read it.
"""
import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_COUNTED = ['action', 'at', 'case_id', 'body_code']
_FACTS = ['next_at', 'on_time', 'solved', 'satisfied']
_CASE = ['id', 'category_code', 'case_type', 'area_code', 'body_code', 'joint']
_SIGNING = ('assign', 'transfer', 'escalate', 'accept')


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('on_time', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('solved', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('satisfied', sa.Boolean(), nullable=True))
    _backfill(op.get_bind())
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_action_at')
        batch_op.create_index('ix_events_action_at', _COUNTED + _FACTS, unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_figures', _CASE, unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_figures')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_action_at')
        batch_op.create_index('ix_events_action_at', _COUNTED, unique=False)
        for column in reversed(_FACTS):
            batch_op.drop_column(column)


def _backfill(conn) -> None:
    events = sa.table('events', sa.column('id'), sa.column('case_id'), sa.column('seq'),
                      sa.column('at', sa.DateTime), sa.column('action'),
                      sa.column('data', sa.JSON), *(sa.column(c) for c in _FACTS))
    data = events.c.data
    if conn.dialect.name == 'sqlite':
        moment = sa.func.julianday
    else:
        def moment(value):
            return sa.cast(value, sa.DateTime)

    def by(at, deadline):
        return sa.or_(deadline.is_(None), moment(at) <= moment(deadline))

    due = data['due_at'].as_string()
    conn.execute(events.update().where(events.c.action == 'resolve')
                 .values(on_time=by(events.c.at, due)))
    conn.execute(events.update().where(events.c.action == 'rate').values(
        solved=sa.func.coalesce(data['solved'].as_boolean().is_(True), False),
        satisfied=sa.func.coalesce(data['satisfaction'].as_string().in_(('满意', '基本满意')),
                                   False)))
    for sort in (_SIGNING, ('rate',)):
        window = dict(partition_by=events.c.case_id, order_by=events.c.seq)
        # the window over the whole sort; only assignments and ratings learn of their next
        chain = (sa.select(events.c.id, events.c.action,
                           data['sign_due_at'].as_string().label('sign_due'),
                           sa.func.lead(events.c.action).over(**window).label('next_action'),
                           sa.func.lead(events.c.at, type_=sa.DateTime).over(**window)
                           .label('next_at'))
                 .where(events.c.action.in_(sort)).subquery())
        values = {'next_at': chain.c.next_at}
        if sort == _SIGNING:
            values['on_time'] = sa.and_(chain.c.next_action == 'accept',
                                        by(chain.c.next_at, chain.c.sign_due))
        conn.execute(events.update().where(events.c.id == chain.c.id, chain.c.action != 'accept',
                                           chain.c.next_at.isnot(None)).values(values))
