"""cases.joint and cases.joint_case_id: 联合办理, one joint case for a hot spot's cases

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 19:30:00

A supervisor opens, from a hot-spot alert, one joint case (`joint` true: no resident of its own,
so its events queue no messages) that the alert's open cases join: each member keeps its own
number, body and resident and points at the joint case (`joint_case_id`); the joint case's
replies and resolution reach every member (`bot.cases.service`). The index lists a joint
case's members.
"""
import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('joint', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('joint_case_id',
                                      sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.create_foreign_key('fk_cases_joint_case_id_cases', 'cases',
                                    ['joint_case_id'], ['id'])
        batch_op.create_index('ix_cases_joint_case', ['joint_case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_joint_case')
        batch_op.drop_constraint('fk_cases_joint_case_id_cases', type_='foreignkey')
        batch_op.drop_column('joint_case_id')
        batch_op.drop_column('joint')
