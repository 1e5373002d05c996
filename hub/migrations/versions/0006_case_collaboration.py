"""cases: assignee, SLA pause, the complaint that opened a case, and the case-number counter

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:45:53.067517
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_counters',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_case_counters'))
    )
    # The counter starts at the highest number issued so far (hub/cases/numbers.py).
    op.execute(
        "INSERT INTO case_counters (name, last_number) "
        "SELECT 'case', COALESCE(MAX(number), 0) FROM cases"
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_user_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('pending_since', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolution_paused_seconds', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('source_interaction_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_assignee_user_id'), ['assignee_user_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_cases_source_interaction_id'), ['source_interaction_id'])
        batch_op.create_foreign_key(batch_op.f('fk_cases_source_interaction_id_interactions'), 'interactions', ['source_interaction_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_cases_assignee_user_id_users'), 'users', ['assignee_user_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_assignee_user_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_cases_source_interaction_id_interactions'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_cases_source_interaction_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_cases_assignee_user_id'))
        batch_op.drop_column('source_interaction_id')
        batch_op.drop_column('resolution_paused_seconds')
        batch_op.drop_column('pending_since')
        batch_op.drop_column('assignee_user_id')

    op.drop_table('case_counters')
