"""sync leases: who runs a sync run and when it last showed life, to finish abandoned runs

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', hub.models.base.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('worker')
