"""one-things: 容缺受理, 告知承诺, credit flags

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa
import engine.store.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('credit_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=40), nullable=False),
    sa.Column('subject_name', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('item', sa.String(length=200), nullable=True),
    sa.Column('flagged_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('flagged_by', sa.String(length=100), nullable=True),
    sa.Column('cleared_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cleared_by', sa.String(length=100), nullable=True),
    sa.Column('clear_reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_credit_flag_subject_cleared', 'credit_flag', ['subject', 'cleared_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_credit_flag_subject_cleared', table_name='credit_flag')
    op.drop_table('credit_flag')
