"""sharing grants: which customers each partner sees, by segment rule or explicit list, with which scopes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:35:59.395034
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sharing_grants',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('partner_id', sa.Uuid(), nullable=False),
    sa.Column('segment', sa.JSON(), nullable=True),
    sa.Column('scope', sa.String(length=1000), nullable=False),
    sa.Column('expires_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_sharing_grants_partner_id_partners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_grants'))
    )
    with op.batch_alter_table('sharing_grants', schema=None) as batch_op:
        batch_op.create_index('ix_sharing_grants_partner', ['partner_id', 'created_at'], unique=False)

    op.create_table('sharing_grant_customers',
    sa.Column('grant_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sharing_grant_customers_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grant_id'], ['sharing_grants.id'], name=op.f('fk_sharing_grant_customers_grant_id_sharing_grants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('grant_id', 'customer_id', name=op.f('pk_sharing_grant_customers'))
    )
    with op.batch_alter_table('sharing_grant_customers', schema=None) as batch_op:
        batch_op.create_index('ix_sharing_grant_customers_customer', ['customer_id', 'grant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sharing_grant_customers', schema=None) as batch_op:
        batch_op.drop_index('ix_sharing_grant_customers_customer')

    op.drop_table('sharing_grant_customers')
    with op.batch_alter_table('sharing_grants', schema=None) as batch_op:
        batch_op.drop_index('ix_sharing_grants_partner')

    op.drop_table('sharing_grants')
