"""write-backs: the durable queue of connector write actions, one idempotency key per connection

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 15:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

STATUS = sa.Enum('PENDING', 'RUNNING', 'DONE', 'FAILED', 'DEAD', name='writebackstatus',
                 native_enum=False, length=32)


def upgrade() -> None:
    op.create_table('write_backs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('status', STATUS, nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('requested_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('requested_by_client_id', sa.String(length=64), nullable=True),
    sa.Column('requested_by_partner_id', sa.Uuid(), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_write_backs_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_write_backs')),
    sa.UniqueConstraint('connection_id', 'idempotency_key', name=op.f('uq_write_backs_connection_id_idempotency_key'))
    )
    with op.batch_alter_table('write_backs', schema=None) as batch_op:
        batch_op.create_index('ix_write_backs_connection_created', ['connection_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_write_backs_status_next', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('write_backs', schema=None) as batch_op:
        batch_op.drop_index('ix_write_backs_status_next')
        batch_op.drop_index('ix_write_backs_connection_created')
    op.drop_table('write_backs')
