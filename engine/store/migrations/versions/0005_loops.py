"""loops: ratings, supervision push, work orders, reminders

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa
import engine.store.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_ratings()
    upgrade_supervision_workorders_reminders()


def downgrade() -> None:
    downgrade_supervision_workorders_reminders()
    downgrade_ratings()


# -- 好差评 and the applicant portal ---------------------------------------------------------

def upgrade_ratings() -> None:
    op.create_table('portal_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_portal_attempt_key_at', 'portal_attempt', ['key', 'at'], unique=False)
    op.create_table('applicant_submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('uploads', sa.JSON(), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_applicant_submission_case_id'), 'applicant_submission', ['case_id'], unique=False)
    op.create_index(op.f('ix_applicant_submission_task_id'), 'applicant_submission', ['task_id'], unique=False)
    op.create_table('rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('scope_name', sa.String(length=300), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('current', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('review_case_id', sa.Integer(), nullable=True),
    sa.Column('handling', sa.String(length=30), nullable=True),
    sa.Column('rectification_due', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rectified_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('excluded', sa.Boolean(), nullable=False),
    sa.Column('feedback', sa.Text(), nullable=True),
    sa.Column('feedback_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['review_case_id'], ['case_record.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_rating_case_scope', 'rating', ['case_id', 'scope', 'current'], unique=False)
    op.create_index('ix_rating_department_created', 'rating', ['department', 'created_at'], unique=False)
    op.create_index(op.f('ix_rating_review_case_id'), 'rating', ['review_case_id'], unique=False)
    op.create_table('rating_invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rated_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id')
    )


def downgrade_ratings() -> None:
    op.drop_table('rating_invitation')
    op.drop_index(op.f('ix_rating_review_case_id'), table_name='rating')
    op.drop_index('ix_rating_department_created', table_name='rating')
    op.drop_index('ix_rating_case_scope', table_name='rating')
    op.drop_table('rating')
    op.drop_index(op.f('ix_applicant_submission_task_id'), table_name='applicant_submission')
    op.drop_index(op.f('ix_applicant_submission_case_id'), table_name='applicant_submission')
    op.drop_table('applicant_submission')
    op.drop_index('ix_portal_attempt_key_at', table_name='portal_attempt')
    op.drop_table('portal_attempt')


# -- 审管联动, 12345 work orders, 主动提醒 -----------------------------------------------------

def upgrade_supervision_workorders_reminders() -> None:
    op.create_table('supervision_push',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=200), nullable=False),
    sa.Column('item_name', sa.String(length=300), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=True),
    sa.Column('supervisor', sa.String(length=200), nullable=False),
    sa.Column('licence_no', sa.String(length=100), nullable=True),
    sa.Column('result_name', sa.String(length=300), nullable=True),
    sa.Column('holder', sa.String(length=300), nullable=True),
    sa.Column('approved_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('supervision_case_id', sa.Integer(), nullable=True),
    sa.Column('pushed_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_by', sa.String(length=100), nullable=True),
    sa.Column('auto_claimed', sa.Boolean(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=True),
    sa.Column('notice', sa.Text(), nullable=True),
    sa.Column('notice_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supervision_case_id'], ['case_record.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'item_key')
    )
    op.create_index('ix_supervision_push_state', 'supervision_push', ['state'], unique=False)
    op.create_index('ix_supervision_push_supervisor_state', 'supervision_push', ['supervisor', 'state'], unique=False)
    op.create_index(op.f('ix_supervision_push_supervision_case_id'), 'supervision_push', ['supervision_case_id'], unique=False)
    op.create_index(op.f('ix_supervision_push_valid_until'), 'supervision_push', ['valid_until'], unique=False)
    op.create_table('work_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('citizen_name', sa.String(length=100), nullable=False),
    sa.Column('citizen_phone', sa.String(length=20), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=True),
    sa.Column('co_departments', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('due_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('returns', sa.Integer(), nullable=False),
    sa.Column('unsigned_returns', sa.Integer(), nullable=False),
    sa.Column('rehandles', sa.Integer(), nullable=False),
    sa.Column('urges', sa.Integer(), nullable=False),
    sa.Column('satisfaction', sa.String(length=20), nullable=True),
    sa.Column('created_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id')
    )
    op.create_index('ix_work_order_department_state', 'work_order', ['department', 'state'], unique=False)
    op.create_index('ix_work_order_state', 'work_order', ['state'], unique=False)
    op.create_table('licence_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=200), nullable=False),
    sa.Column('item_name', sa.String(length=300), nullable=False),
    sa.Column('licence_no', sa.String(length=100), nullable=True),
    sa.Column('holder', sa.String(length=300), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('remind_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('renewal_case_id', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['renewal_case_id'], ['case_record.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'item_key')
    )
    op.create_index(op.f('ix_licence_reminder_case_id'), 'licence_reminder', ['case_id'], unique=False)
    op.create_index(op.f('ix_licence_reminder_renewal_case_id'), 'licence_reminder', ['renewal_case_id'], unique=False)


def downgrade_supervision_workorders_reminders() -> None:
    op.drop_index(op.f('ix_licence_reminder_renewal_case_id'), table_name='licence_reminder')
    op.drop_index(op.f('ix_licence_reminder_case_id'), table_name='licence_reminder')
    op.drop_table('licence_reminder')
    op.drop_index('ix_work_order_state', table_name='work_order')
    op.drop_index('ix_work_order_department_state', table_name='work_order')
    op.drop_table('work_order')
    op.drop_index(op.f('ix_supervision_push_valid_until'), table_name='supervision_push')
    op.drop_index(op.f('ix_supervision_push_supervision_case_id'), table_name='supervision_push')
    op.drop_index('ix_supervision_push_supervisor_state', table_name='supervision_push')
    op.drop_index('ix_supervision_push_state', table_name='supervision_push')
    op.drop_table('supervision_push')
