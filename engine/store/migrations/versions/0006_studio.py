"""studio: drafts, catalogue versions, migrations

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa
import engine.store.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('studio_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('file_name', sa.String(length=300), nullable=False),
    sa.Column('bpmn_xml', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('process_key', 'owner')
    )
    with op.batch_alter_table('studio_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_studio_draft_owner'), ['owner'], unique=False)

    op.create_table('studio_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('content', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('studio_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_studio_event_at'), ['at'], unique=False)
        batch_op.create_index('ix_studio_event_key_at', ['process_key', 'at'], unique=False)

    # -- part B: case migrations and catalogue versions
    op.create_table('case_migration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('from_version', sa.Integer(), nullable=False),
    sa.Column('to_version', sa.Integer(), nullable=False),
    sa.Column('from_hash', sa.String(length=64), nullable=False),
    sa.Column('to_hash', sa.String(length=64), nullable=False),
    sa.Column('pins_before', sa.JSON(), nullable=False),
    sa.Column('pins_after', sa.JSON(), nullable=False),
    sa.Column('definition_before', sa.Integer(), nullable=False),
    sa.Column('state_before', sa.Text(), nullable=False),
    sa.Column('tasks_before', sa.JSON(), nullable=False),
    sa.Column('events_after', sa.Integer(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('migrated_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('migrated_by', sa.String(length=100), nullable=False),
    sa.Column('reverted_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reverted_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_migration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_migration_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_migration_key_at', ['process_key', 'migrated_at'], unique=False)

    op.create_table('catalogue_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version')
    )
    with op.batch_alter_table('catalogue_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_version_content_hash'), ['content_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('catalogue_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_version_content_hash'))
    op.drop_table('catalogue_version')
    with op.batch_alter_table('case_migration', schema=None) as batch_op:
        batch_op.drop_index('ix_case_migration_key_at')
        batch_op.drop_index(batch_op.f('ix_case_migration_case_id'))
    op.drop_table('case_migration')
    with op.batch_alter_table('studio_event', schema=None) as batch_op:
        batch_op.drop_index('ix_studio_event_key_at')
        batch_op.drop_index(batch_op.f('ix_studio_event_at'))
    op.drop_table('studio_event')
    with op.batch_alter_table('studio_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_studio_draft_owner'))
    op.drop_table('studio_draft')
