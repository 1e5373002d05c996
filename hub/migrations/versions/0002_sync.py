"""sync: stream bookmarks, sync runs, dead letters, the webhook inbox, the full-refresh marker

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:52:40.354146
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('provider_event_id', sa.String(length=255), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_inbound_events_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_events')),
    sa.UniqueConstraint('connection_id', 'provider_event_id', name=op.f('uq_inbound_events_connection_id_provider_event_id'))
    )
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_events_pending', ['processed_at', 'received_at'], unique=False)

    op.create_table('stream_states',
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('stream', sa.String(length=100), nullable=False),
    sa.Column('bookmark', sa.JSON(), nullable=True),
    sa.Column('updated_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_stream_states_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('connection_id', 'stream', name=op.f('pk_stream_states'))
    )
    op.create_table('sync_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('stream', sa.String(length=100), nullable=True),
    sa.Column('full_refresh', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED', name='syncrunstatus', native_enum=False, length=32), nullable=False),
    sa.Column('started_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('records_read', sa.Integer(), nullable=False),
    sa.Column('records_created', sa.Integer(), nullable=False),
    sa.Column('records_updated', sa.Integer(), nullable=False),
    sa.Column('records_unchanged', sa.Integer(), nullable=False),
    sa.Column('records_deleted', sa.Integer(), nullable=False),
    sa.Column('records_failed', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_sync_runs_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index('ix_sync_runs_connection_stream_started', ['connection_id', 'stream', 'started_at'], unique=False)
        batch_op.create_index('ix_sync_runs_status', ['status', 'started_at'], unique=False)

    op.create_table('dead_letters',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('sync_run_id', sa.Uuid(), nullable=True),
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('stream', sa.String(length=100), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_dead_letters_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id'], name=op.f('fk_dead_letters_sync_run_id_sync_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters'))
    )
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.create_index('ix_dead_letters_connection_stream', ['connection_id', 'stream', 'resolved_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dead_letters_sync_run_id'), ['sync_run_id'], unique=False)

    # A plain nullable column: SQLite adds it in place, no table rebuild.
    with op.batch_alter_table('source_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_run_id', sa.Uuid(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('source_records', schema=None) as batch_op:
        batch_op.drop_column('last_seen_run_id')

    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letters_sync_run_id'))
        batch_op.drop_index('ix_dead_letters_connection_stream')

    op.drop_table('dead_letters')
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_runs_status')
        batch_op.drop_index('ix_sync_runs_connection_stream_started')

    op.drop_table('sync_runs')
    op.drop_table('stream_states')
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_events_pending')

    op.drop_table('inbound_events')
