"""audit: the audit log of partner PII reads and of every write

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:34:08.018485
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('occurred_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_kind', sa.Enum('USER', 'CLIENT', 'SYSTEM', 'CONNECTOR', name='actorkind', native_enum=False, length=32), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('partner_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('record_type', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.String(length=64), nullable=True),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_action', ['action', 'occurred_at'], unique=False)
        batch_op.create_index('ix_audit_events_client', ['client_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_audit_events_occurred', ['occurred_at', 'id'], unique=False)
        batch_op.create_index('ix_audit_events_partner', ['partner_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_audit_events_record', ['record_type', 'record_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_audit_events_user', ['user_id', 'occurred_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_user')
        batch_op.drop_index('ix_audit_events_record')
        batch_op.drop_index('ix_audit_events_partner')
        batch_op.drop_index('ix_audit_events_occurred')
        batch_op.drop_index('ix_audit_events_client')
        batch_op.drop_index('ix_audit_events_action')

    op.drop_table('audit_events')
