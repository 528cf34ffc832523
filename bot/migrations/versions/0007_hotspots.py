"""hot spot alerts (预警)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hotspot_alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('level1', sa.String(length=50), nullable=False),
    sa.Column('category_code', sa.String(length=64), nullable=False),
    sa.Column('area_code', sa.String(length=32), nullable=True),
    sa.Column('first_at', sa.DateTime(), nullable=False),
    sa.Column('last_at', sa.DateTime(), nullable=False),
    sa.Column('residents', sa.Integer(), nullable=False),
    sa.Column('case_numbers', sa.JSON(), nullable=False),
    sa.Column('note_case', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('hotspot_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_hotspot_alerts_last', ['status', 'last_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hotspot_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_hotspot_alerts_last')
    op.drop_table('hotspot_alerts')
