"""Open311 clients and the requests they filed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('open311_clients',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash'),
    sa.UniqueConstraint('name')
    )
    op.create_table('open311_requests',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('case_number', sa.String(length=32), nullable=False),
    sa.Column('client_id', BigId, nullable=False),
    sa.Column('token', sa.String(length=36), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('long', sa.Float(), nullable=True),
    sa.Column('address_string', sa.String(length=200), nullable=True),
    sa.Column('address_id', sa.String(length=128), nullable=True),
    sa.Column('media_url', sa.String(length=2000), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('device_id', sa.String(length=128), nullable=True),
    sa.Column('account_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['open311_clients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_number'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('open311_requests', schema=None) as batch_op:
        batch_op.create_index('ix_open311_requests_created', ['created_at'], unique=False)
        batch_op.create_index('ix_open311_requests_repeat', ['client_id', 'fingerprint', 'created_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('open311_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_open311_requests_repeat')
        batch_op.drop_index('ix_open311_requests_created')
    op.drop_table('open311_requests')
    op.drop_table('open311_clients')
