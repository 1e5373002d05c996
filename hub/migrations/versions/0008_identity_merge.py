"""identity: source profiles, golden-record provenance, merges (with what unmerge needs), merge suggestions

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('source_profiles',
    sa.Column('source_record_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('PERSON', 'ORGANIZATION', name='customerkind', native_enum=False, length=32, create_constraint=False), nullable=False),
    sa.Column('given_name', sa.String(length=200), nullable=True),
    sa.Column('family_name', sa.String(length=200), nullable=True),
    sa.Column('organization_name', sa.String(length=300), nullable=True),
    sa.Column('locale', sa.String(length=35), nullable=True),
    sa.Column('observed_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_records.id'], name=op.f('fk_source_profiles_source_record_id_source_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_record_id', name=op.f('pk_source_profiles'))
    )
    op.create_table('customer_field_provenance',
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('field', sa.String(length=50), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('source_record_id', sa.Uuid(), nullable=True),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('observed_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_field_provenance_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_records.id'], name=op.f('fk_customer_field_provenance_source_record_id_source_records'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('customer_id', 'field', name=op.f('pk_customer_field_provenance'))
    )
    op.create_table('customer_merges',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('survivor_id', sa.Uuid(), nullable=False),
    sa.Column('absorbed_id', sa.Uuid(), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('probability', sa.Float(), nullable=True),
    sa.Column('merged_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('merged_by', sa.String(length=200), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('moved', sa.JSON(), nullable=False),
    sa.Column('survivor_version', sa.Integer(), nullable=False),
    sa.Column('unmerged_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('unmerged_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['absorbed_id'], ['customers.id'], name=op.f('fk_customer_merges_absorbed_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['survivor_id'], ['customers.id'], name=op.f('fk_customer_merges_survivor_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_merges'))
    )
    with op.batch_alter_table('customer_merges', schema=None) as batch_op:
        batch_op.create_index('ix_customer_merges_absorbed', ['absorbed_id', 'merged_at'], unique=False)
        batch_op.create_index('ix_customer_merges_survivor', ['survivor_id', 'merged_at'], unique=False)

    op.create_table('merge_suggestions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('left_customer_id', sa.Uuid(), nullable=False),
    sa.Column('right_customer_id', sa.Uuid(), nullable=False),
    sa.Column('probability', sa.Float(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('OPEN', 'MERGED', 'DISMISSED', name='mergesuggestionstatus', native_enum=False, length=32, create_constraint=False), nullable=False),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('merge_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['left_customer_id'], ['customers.id'], name=op.f('fk_merge_suggestions_left_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['merge_id'], ['customer_merges.id'], name=op.f('fk_merge_suggestions_merge_id_customer_merges'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['right_customer_id'], ['customers.id'], name=op.f('fk_merge_suggestions_right_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merge_suggestions')),
    sa.UniqueConstraint('left_customer_id', 'right_customer_id', name=op.f('uq_merge_suggestions_left_customer_id_right_customer_id'))
    )
    with op.batch_alter_table('merge_suggestions', schema=None) as batch_op:
        batch_op.create_index('ix_merge_suggestions_right', ['right_customer_id'], unique=False)
        batch_op.create_index('ix_merge_suggestions_status', ['status', 'probability', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('merge_suggestions', schema=None) as batch_op:
        batch_op.drop_index('ix_merge_suggestions_status')
        batch_op.drop_index('ix_merge_suggestions_right')
    op.drop_table('merge_suggestions')
    with op.batch_alter_table('customer_merges', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_merges_survivor')
        batch_op.drop_index('ix_customer_merges_absorbed')
    op.drop_table('customer_merges')
    op.drop_table('customer_field_provenance')
    op.drop_table('source_profiles')
