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
    """The official schedule as `chinesecalendar` knew it when this migration was written
    (years 2004–2026), frozen here so the schema's history never changes with an
    installed package; later years are imported by administrators (`onething calendar
    import`)."""
    from datetime import date, datetime, timezone

    days = sa.table("calendar_day", sa.column("day", sa.Date), sa.column("kind", sa.String),
                    sa.column("name", sa.String), sa.column("source", sa.String))
    years = sa.table("calendar_year", sa.column("year", sa.Integer),
                     sa.column("source", sa.String),
                     sa.column("imported_at", engine.store.types.UTCDateTime(timezone=True)),
                     sa.column("imported_by", sa.String))
    rows = []
    for line in SPECIAL_DAYS.strip().splitlines():
        day, kind, name = line.split(" ", 2)
        rows.append({"day": date.fromisoformat(day), "kind": KINDS[kind], "name": name,
                     "source": "chinesecalendar"})
    op.bulk_insert(days, rows)
    now = datetime.now(timezone.utc)
    op.bulk_insert(years, [{"year": y, "source": "chinesecalendar", "imported_at": now,
                            "imported_by": "migration"} for y in range(2004, 2027)])


KINDS = {"H": "holiday", "W": "workday"}
# The days that differ from Monday–Friday: weekday holidays (H), weekend workdays (W).
SPECIAL_DAYS = """
2004-01-01 H New Year's Day
2004-01-17 W Spring Festival
2004-01-18 W Spring Festival
2004-01-22 H Spring Festival
2004-01-23 H Spring Festival
2004-01-26 H Spring Festival
2004-01-27 H Spring Festival
2004-01-28 H Spring Festival
2004-05-03 H Labour Day
2004-05-04 H Labour Day
2004-05-05 H Labour Day
2004-05-06 H Labour Day
2004-05-07 H Labour Day
2004-05-08 W Labour Day
2004-05-09 W Labour Day
2004-10-01 H National Day
2004-10-04 H National Day
2004-10-05 H National Day
2004-10-06 H National Day
2004-10-07 H National Day
2004-10-09 W National Day
2004-10-10 W National Day
2005-01-03 H New Year's Day
2005-02-05 W Spring Festival
2005-02-06 W Spring Festival
2005-02-09 H Spring Festival
2005-02-10 H Spring Festival
2005-02-11 H Spring Festival
2005-02-14 H Spring Festival
2005-02-15 H Spring Festival
2005-04-30 W Labour Day
2005-05-02 H Labour Day
2005-05-03 H Labour Day
2005-05-04 H Labour Day
2005-05-05 H Labour Day
2005-05-06 H Labour Day
2005-05-08 W Labour Day
2005-10-03 H National Day
2005-10-04 H National Day
2005-10-05 H National Day
2005-10-06 H National Day
2005-10-07 H National Day
2005-10-08 W National Day
2005-10-09 W National Day
2006-01-02 H New Year's Day
2006-01-03 H New Year's Day
2006-01-28 W Spring Festival
2006-01-30 H Spring Festival
2006-01-31 H Spring Festival
2006-02-01 H Spring Festival
2006-02-02 H Spring Festival
2006-02-03 H Spring Festival
2006-02-05 W Spring Festival
2006-04-29 W Labour Day
2006-04-30 W Labour Day
2006-05-01 H Labour Day
2006-05-02 H Labour Day
2006-05-03 H Labour Day
2006-05-04 H Labour Day
2006-05-05 H Labour Day
2006-09-30 W National Day
2006-10-02 H National Day
2006-10-03 H National Day
2006-10-04 H National Day
2006-10-05 H National Day
2006-10-06 H National Day
2006-10-08 W National Day
2006-12-30 W New Year's Day
2006-12-31 W New Year's Day
2007-01-01 H New Year's Day
2007-01-02 H New Year's Day
2007-01-03 H New Year's Day
2007-02-17 W Spring Festival
2007-02-19 H Spring Festival
2007-02-20 H Spring Festival
2007-02-21 H Spring Festival
2007-02-22 H Spring Festival
2007-02-23 H Spring Festival
2007-02-25 W Spring Festival
2007-04-28 W Labour Day
2007-04-29 W Labour Day
2007-05-01 H Labour Day
2007-05-02 H Labour Day
2007-05-03 H Labour Day
2007-05-04 H Labour Day
2007-05-07 H Labour Day
2007-09-29 W National Day
2007-09-30 W National Day
2007-10-01 H National Day
2007-10-02 H National Day
2007-10-03 H National Day
2007-10-04 H National Day
2007-10-05 H National Day
2007-12-29 W New Year's Day
2007-12-31 H New Year's Day
2008-01-01 H New Year's Day
2008-02-02 W Spring Festival
2008-02-03 W Spring Festival
2008-02-06 H Spring Festival
2008-02-07 H Spring Festival
2008-02-08 H Spring Festival
2008-02-11 H Spring Festival
2008-02-12 H Spring Festival
2008-04-04 H Tomb-sweeping Day
2008-05-01 H Labour Day
2008-05-02 H Labour Day
2008-05-04 W Labour Day
2008-06-09 H Dragon Boat Festival
2008-09-15 H Mid-autumn Festival
2008-09-27 W National Day
2008-09-28 W National Day
2008-09-29 H National Day
2008-09-30 H National Day
2008-10-01 H National Day
2008-10-02 H National Day
2008-10-03 H National Day
2009-01-01 H New Year's Day
2009-01-02 H New Year's Day
2009-01-04 W New Year's Day
2009-01-24 W Spring Festival
2009-01-26 H Spring Festival
2009-01-27 H Spring Festival
2009-01-28 H Spring Festival
2009-01-29 H Spring Festival
2009-01-30 H Spring Festival
2009-02-01 W Spring Festival
2009-04-06 H Tomb-sweeping Day
2009-05-01 H Labour Day
2009-05-28 H Dragon Boat Festival
2009-05-29 H Dragon Boat Festival
2009-05-31 W Dragon Boat Festival
2009-09-27 W National Day
2009-10-01 H National Day
2009-10-02 H National Day
2009-10-05 H National Day
2009-10-06 H National Day
2009-10-07 H National Day
2009-10-08 H National Day
2009-10-10 W National Day
2010-01-01 H New Year's Day
2010-02-15 H Spring Festival
2010-02-16 H Spring Festival
2010-02-17 H Spring Festival
2010-02-18 H Spring Festival
2010-02-19 H Spring Festival
2010-02-20 W Spring Festival
2010-02-21 W Spring Festival
2010-04-05 H Tomb-sweeping Day
2010-05-03 H Labour Day
2010-06-12 W Dragon Boat Festival
2010-06-13 W Dragon Boat Festival
2010-06-14 H Dragon Boat Festival
2010-06-15 H Dragon Boat Festival
2010-06-16 H Dragon Boat Festival
2010-09-19 W Mid-autumn Festival
2010-09-22 H Mid-autumn Festival
2010-09-23 H Mid-autumn Festival
2010-09-24 H Mid-autumn Festival
2010-09-25 W Mid-autumn Festival
2010-09-26 W National Day
2010-10-01 H National Day
2010-10-04 H National Day
2010-10-05 H National Day
2010-10-06 H National Day
2010-10-07 H National Day
2010-10-09 W National Day
2011-01-03 H New Year's Day
2011-01-30 W Spring Festival
2011-02-02 H Spring Festival
2011-02-03 H Spring Festival
2011-02-04 H Spring Festival
2011-02-07 H Spring Festival
2011-02-08 H Spring Festival
2011-02-12 W Spring Festival
2011-04-02 W Tomb-sweeping Day
2011-04-04 H Tomb-sweeping Day
2011-04-05 H Tomb-sweeping Day
2011-05-02 H Labour Day
2011-06-06 H Dragon Boat Festival
2011-09-12 H Mid-autumn Festival
2011-10-03 H National Day
2011-10-04 H National Day
2011-10-05 H National Day
2011-10-06 H National Day
2011-10-07 H National Day
2011-10-08 W National Day
2011-10-09 W National Day
2011-12-31 W New Year's Day
2012-01-02 H New Year's Day
2012-01-03 H New Year's Day
2012-01-21 W Spring Festival
2012-01-23 H Spring Festival
2012-01-24 H Spring Festival
2012-01-25 H Spring Festival
2012-01-26 H Spring Festival
2012-01-27 H Spring Festival
2012-01-29 W Spring Festival
2012-03-31 W Tomb-sweeping Day
2012-04-01 W Tomb-sweeping Day
2012-04-02 H Tomb-sweeping Day
2012-04-03 H Tomb-sweeping Day
2012-04-04 H Tomb-sweeping Day
2012-04-28 W Labour Day
2012-04-30 H Labour Day
2012-05-01 H Labour Day
2012-06-22 H Dragon Boat Festival
2012-09-29 W National Day
2012-10-01 H National Day
2012-10-02 H National Day
2012-10-03 H National Day
2012-10-04 H National Day
2012-10-05 H National Day
2013-01-01 H New Year's Day
2013-01-02 H New Year's Day
2013-01-03 H New Year's Day
2013-01-05 W New Year's Day
2013-01-06 W New Year's Day
2013-02-11 H Spring Festival
2013-02-12 H Spring Festival
2013-02-13 H Spring Festival
2013-02-14 H Spring Festival
2013-02-15 H Spring Festival
2013-02-16 W Spring Festival
2013-02-17 W Spring Festival
2013-04-04 H Tomb-sweeping Day
2013-04-05 H Tomb-sweeping Day
2013-04-07 W Tomb-sweeping Day
2013-04-27 W Labour Day
2013-04-28 W Labour Day
2013-04-29 H Labour Day
2013-04-30 H Labour Day
2013-05-01 H Labour Day
2013-06-08 W Dragon Boat Festival
2013-06-09 W Dragon Boat Festival
2013-06-10 H Dragon Boat Festival
2013-06-11 H Dragon Boat Festival
2013-06-12 H Dragon Boat Festival
2013-09-19 H Mid-autumn Festival
2013-09-20 H Mid-autumn Festival
2013-09-22 W Mid-autumn Festival
2013-09-29 W National Day
2013-10-01 H National Day
2013-10-02 H National Day
2013-10-03 H National Day
2013-10-04 H National Day
2013-10-07 H National Day
2013-10-12 W National Day
2014-01-01 H New Year's Day
2014-01-26 W Spring Festival
2014-01-31 H Spring Festival
2014-02-03 H Spring Festival
2014-02-04 H Spring Festival
2014-02-05 H Spring Festival
2014-02-06 H Spring Festival
2014-02-08 W Spring Festival
2014-04-07 H Tomb-sweeping Day
2014-05-01 H Labour Day
2014-05-02 H Labour Day
2014-05-04 W Labour Day
2014-06-02 H Dragon Boat Festival
2014-09-08 H Mid-autumn Festival
2014-09-28 W National Day
2014-10-01 H National Day
2014-10-02 H National Day
2014-10-03 H National Day
2014-10-06 H National Day
2014-10-07 H National Day
2014-10-11 W National Day
2015-01-01 H New Year's Day
2015-01-02 H New Year's Day
2015-01-04 W New Year's Day
2015-02-15 W Spring Festival
2015-02-18 H Spring Festival
2015-02-19 H Spring Festival
2015-02-20 H Spring Festival
2015-02-23 H Spring Festival
2015-02-24 H Spring Festival
2015-02-28 W Spring Festival
2015-04-06 H Tomb-sweeping Day
2015-05-01 H Labour Day
2015-06-22 H Dragon Boat Festival
2015-09-03 H Anti-Fascist 70th Day
2015-09-04 H Anti-Fascist 70th Day
2015-09-06 W Anti-Fascist 70th Day
2015-10-01 H National Day
2015-10-02 H National Day
2015-10-05 H National Day
2015-10-06 H National Day
2015-10-07 H National Day
2015-10-10 W National Day
2016-01-01 H New Year's Day
2016-02-06 W Spring Festival
2016-02-08 H Spring Festival
2016-02-09 H Spring Festival
2016-02-10 H Spring Festival
2016-02-11 H Spring Festival
2016-02-12 H Spring Festival
2016-02-14 W Spring Festival
2016-04-04 H Tomb-sweeping Day
2016-05-02 H Labour Day
2016-06-09 H Dragon Boat Festival
2016-06-10 H Dragon Boat Festival
2016-06-12 W Dragon Boat Festival
2016-09-15 H Mid-autumn Festival
2016-09-16 H Mid-autumn Festival
2016-09-18 W Mid-autumn Festival
2016-10-03 H National Day
2016-10-04 H National Day
2016-10-05 H National Day
2016-10-06 H National Day
2016-10-07 H National Day
2016-10-08 W National Day
2016-10-09 W National Day
2017-01-02 H New Year's Day
2017-01-22 W Spring Festival
2017-01-27 H Spring Festival
2017-01-30 H Spring Festival
2017-01-31 H Spring Festival
2017-02-01 H Spring Festival
2017-02-02 H Spring Festival
2017-02-04 W Spring Festival
2017-04-01 W Tomb-sweeping Day
2017-04-03 H Tomb-sweeping Day
2017-04-04 H Tomb-sweeping Day
2017-05-01 H Labour Day
2017-05-27 W Dragon Boat Festival
2017-05-29 H Dragon Boat Festival
2017-05-30 H Dragon Boat Festival
2017-09-30 W National Day
2017-10-02 H National Day
2017-10-03 H National Day
2017-10-04 H Mid-autumn Festival
2017-10-05 H National Day
2017-10-06 H National Day
2018-01-01 H New Year's Day
2018-02-11 W Spring Festival
2018-02-15 H Spring Festival
2018-02-16 H Spring Festival
2018-02-19 H Spring Festival
2018-02-20 H Spring Festival
2018-02-21 H Spring Festival
2018-02-24 W Spring Festival
2018-04-05 H Tomb-sweeping Day
2018-04-06 H Tomb-sweeping Day
2018-04-08 W Tomb-sweeping Day
2018-04-28 W Labour Day
2018-04-30 H Labour Day
2018-05-01 H Labour Day
2018-06-18 H Dragon Boat Festival
2018-09-24 H Mid-autumn Festival
2018-09-29 W National Day
2018-09-30 W National Day
2018-10-01 H National Day
2018-10-02 H National Day
2018-10-03 H National Day
2018-10-04 H National Day
2018-10-05 H National Day
2018-12-29 W New Year's Day
2018-12-31 H New Year's Day
2019-01-01 H New Year's Day
2019-02-02 W Spring Festival
2019-02-03 W Spring Festival
2019-02-04 H Spring Festival
2019-02-05 H Spring Festival
2019-02-06 H Spring Festival
2019-02-07 H Spring Festival
2019-02-08 H Spring Festival
2019-04-05 H Tomb-sweeping Day
2019-04-28 W Labour Day
2019-05-01 H Labour Day
2019-05-02 H Labour Day
2019-05-03 H Labour Day
2019-05-05 W Labour Day
2019-06-07 H Dragon Boat Festival
2019-09-13 H Mid-autumn Festival
2019-09-29 W National Day
2019-10-01 H National Day
2019-10-02 H National Day
2019-10-03 H National Day
2019-10-04 H National Day
2019-10-07 H National Day
2019-10-12 W National Day
2020-01-01 H New Year's Day
2020-01-19 W Spring Festival
2020-01-24 H Spring Festival
2020-01-27 H Spring Festival
2020-01-28 H Spring Festival
2020-01-29 H Spring Festival
2020-01-30 H Spring Festival
2020-01-31 H Spring Festival
2020-04-06 H Tomb-sweeping Day
2020-04-26 W Labour Day
2020-05-01 H Labour Day
2020-05-04 H Labour Day
2020-05-05 H Labour Day
2020-05-09 W Labour Day
2020-06-25 H Dragon Boat Festival
2020-06-26 H Dragon Boat Festival
2020-06-28 W Dragon Boat Festival
2020-09-27 W National Day
2020-10-01 H National Day
2020-10-02 H National Day
2020-10-05 H National Day
2020-10-06 H National Day
2020-10-07 H National Day
2020-10-08 H National Day
2020-10-10 W National Day
2021-01-01 H New Year's Day
2021-02-07 W Spring Festival
2021-02-11 H Spring Festival
2021-02-12 H Spring Festival
2021-02-15 H Spring Festival
2021-02-16 H Spring Festival
2021-02-17 H Spring Festival
2021-02-20 W Spring Festival
2021-04-05 H Tomb-sweeping Day
2021-04-25 W Labour Day
2021-05-03 H Labour Day
2021-05-04 H Labour Day
2021-05-05 H Labour Day
2021-05-08 W Labour Day
2021-06-14 H Dragon Boat Festival
2021-09-18 W Mid-autumn Festival
2021-09-20 H Mid-autumn Festival
2021-09-21 H Mid-autumn Festival
2021-09-26 W National Day
2021-10-01 H National Day
2021-10-04 H National Day
2021-10-05 H National Day
2021-10-06 H National Day
2021-10-07 H National Day
2021-10-09 W National Day
2022-01-03 H New Year's Day
2022-01-29 W Spring Festival
2022-01-30 W Spring Festival
2022-01-31 H Spring Festival
2022-02-01 H Spring Festival
2022-02-02 H Spring Festival
2022-02-03 H Spring Festival
2022-02-04 H Spring Festival
2022-04-02 W Tomb-sweeping Day
2022-04-04 H Tomb-sweeping Day
2022-04-05 H Tomb-sweeping Day
2022-04-24 W Labour Day
2022-05-02 H Labour Day
2022-05-03 H Labour Day
2022-05-04 H Labour Day
2022-05-07 W Labour Day
2022-06-03 H Dragon Boat Festival
2022-09-12 H Mid-autumn Festival
2022-10-03 H National Day
2022-10-04 H National Day
2022-10-05 H National Day
2022-10-06 H National Day
2022-10-07 H National Day
2022-10-08 W National Day
2022-10-09 W National Day
2023-01-02 H New Year's Day
2023-01-23 H Spring Festival
2023-01-24 H Spring Festival
2023-01-25 H Spring Festival
2023-01-26 H Spring Festival
2023-01-27 H Spring Festival
2023-01-28 W Spring Festival
2023-01-29 W Spring Festival
2023-04-05 H Tomb-sweeping Day
2023-04-23 W Labour Day
2023-05-01 H Labour Day
2023-05-02 H Labour Day
2023-05-03 H Labour Day
2023-05-06 W Labour Day
2023-06-22 H Dragon Boat Festival
2023-06-23 H Dragon Boat Festival
2023-06-25 W Dragon Boat Festival
2023-09-29 H Mid-autumn Festival
2023-10-02 H National Day
2023-10-03 H National Day
2023-10-04 H National Day
2023-10-05 H National Day
2023-10-06 H National Day
2023-10-07 W National Day
2023-10-08 W National Day
2024-01-01 H New Year's Day
2024-02-04 W Spring Festival
2024-02-12 H Spring Festival
2024-02-13 H Spring Festival
2024-02-14 H Spring Festival
2024-02-15 H Spring Festival
2024-02-16 H Spring Festival
2024-02-18 W Spring Festival
2024-04-04 H Tomb-sweeping Day
2024-04-05 H Tomb-sweeping Day
2024-04-07 W Tomb-sweeping Day
2024-04-28 W Labour Day
2024-05-01 H Labour Day
2024-05-02 H Labour Day
2024-05-03 H Labour Day
2024-05-11 W Labour Day
2024-06-10 H Dragon Boat Festival
2024-09-14 W Mid-autumn Festival
2024-09-16 H Mid-autumn Festival
2024-09-17 H Mid-autumn Festival
2024-09-29 W National Day
2024-10-01 H National Day
2024-10-02 H National Day
2024-10-03 H National Day
2024-10-04 H National Day
2024-10-07 H National Day
2024-10-12 W National Day
2025-01-01 H New Year's Day
2025-01-26 W Spring Festival
2025-01-28 H Spring Festival
2025-01-29 H Spring Festival
2025-01-30 H Spring Festival
2025-01-31 H Spring Festival
2025-02-03 H Spring Festival
2025-02-04 H Spring Festival
2025-02-08 W Spring Festival
2025-04-04 H Tomb-sweeping Day
2025-04-27 W Labour Day
2025-05-01 H Labour Day
2025-05-02 H Labour Day
2025-05-05 H Labour Day
2025-06-02 H Dragon Boat Festival
2025-09-28 W National Day
2025-10-01 H National Day
2025-10-02 H National Day
2025-10-03 H National Day
2025-10-06 H Mid-autumn Festival
2025-10-07 H National Day
2025-10-08 H National Day
2025-10-11 W National Day
2026-01-01 H New Year's Day
2026-01-02 H New Year's Day
2026-01-04 W New Year's Day
2026-02-14 W Spring Festival
2026-02-16 H Spring Festival
2026-02-17 H Spring Festival
2026-02-18 H Spring Festival
2026-02-19 H Spring Festival
2026-02-20 H Spring Festival
2026-02-23 H Spring Festival
2026-02-28 W Spring Festival
2026-04-06 H Tomb-sweeping Day
2026-05-01 H Labour Day
2026-05-04 H Labour Day
2026-05-05 H Labour Day
2026-05-09 W Labour Day
2026-06-19 H Dragon Boat Festival
2026-09-20 W National Day
2026-09-25 H Mid-autumn Festival
2026-10-01 H National Day
2026-10-02 H National Day
2026-10-05 H National Day
2026-10-06 H National Day
2026-10-07 H National Day
2026-10-10 W National Day
"""


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
