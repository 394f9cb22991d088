"""clock and timers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa
import engine.store.types


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('calendar_year',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.Column('imported_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('case_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('statutory_amount', sa.Integer(), nullable=True),
    sa.Column('warn_days', sa.Integer(), nullable=False),
    sa.Column('started_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paused_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_amount', sa.Integer(), nullable=False),
    sa.Column('extension', sa.Integer(), nullable=False),
    sa.Column('stopped_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'scope')
    )
    with op.batch_alter_table('case_clock', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_clock_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_clock_due_at'), ['due_at'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', engine.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username', 'task_id', 'kind')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user_read', ['username', 'read_at'], unique=False)

    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_before', engine.store.types.UTCDateTime(timezone=True), nullable=True))

    seed_calendar()


def seed_calendar() -> None:
    """The official schedule as the installed `chinesecalendar` knows it (later years are
    imported by administrators: `onething calendar import`)."""
    from datetime import datetime, timezone

    from engine.worktime.workcalendar import package_days, package_years

    days = sa.table("calendar_day", sa.column("day", sa.Date), sa.column("kind", sa.String),
                    sa.column("name", sa.String), sa.column("source", sa.String))
    years = sa.table("calendar_year", sa.column("year", sa.Integer),
                     sa.column("source", sa.String),
                     sa.column("imported_at", engine.store.types.UTCDateTime(timezone=True)),
                     sa.column("imported_by", sa.String))
    op.bulk_insert(days, [{"day": d.day, "kind": d.kind, "name": d.name,
                           "source": "chinesecalendar"} for d in package_days()])
    now = datetime.now(timezone.utc)
    op.bulk_insert(years, [{"year": y, "source": "chinesecalendar", "imported_at": now,
                            "imported_by": "migration"} for y in sorted(package_years())])



def downgrade() -> None:
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_column('not_before')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user_read')

    op.drop_table('notification')
    with op.batch_alter_table('case_clock', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_clock_due_at'))
        batch_op.drop_index(batch_op.f('ix_case_clock_case_id'))

    op.drop_table('case_clock')
    op.drop_table('calendar_year')
    op.drop_table('calendar_day')
