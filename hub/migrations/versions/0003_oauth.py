"""oauth: authorization codes, signing keys, and token families, rotation and JWT ids

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:19:09.536001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oauth_signing_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('alg', sa.String(length=16), nullable=False),
    sa.Column('private_key_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_oauth_signing_keys'))
    )
    op.create_table('oauth_authorization_codes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('redirect_uri', sa.String(length=2000), nullable=False),
    sa.Column('scope', sa.String(length=1000), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=False),
    sa.Column('code_challenge_method', sa.String(length=10), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('issued_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['oauth_clients.client_id'], name=op.f('fk_oauth_authorization_codes_client_id_oauth_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_oauth_authorization_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_authorization_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_oauth_authorization_codes_code_hash'))
    )
    with op.batch_alter_table('oauth_authorization_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_authorization_codes_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('jti', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('family_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('rotated_from', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('refresh_token_expires_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('used_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_oauth_tokens_family_id'), ['family_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_oauth_tokens_jti'), ['jti'])
        batch_op.create_foreign_key(batch_op.f('fk_oauth_tokens_rotated_from_oauth_tokens'), 'oauth_tokens', ['rotated_from'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_oauth_tokens_rotated_from_oauth_tokens'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_oauth_tokens_jti'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_oauth_tokens_family_id'))
        batch_op.drop_column('used_at')
        batch_op.drop_column('refresh_token_expires_at')
        batch_op.drop_column('rotated_from')
        batch_op.drop_column('family_id')
        batch_op.drop_column('jti')

    with op.batch_alter_table('oauth_authorization_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_authorization_codes_expires_at'))

    op.drop_table('oauth_authorization_codes')
    op.drop_table('oauth_signing_keys')
