"""security: materials linked to cases, failed sign-ins

Existing cases keep their materials: every upload id their audit events name (the
application, completed task forms, 容缺 materials supplied, portal submissions) is linked
to the case here, since downloads are checked against these links from now on.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21
"""
import re
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa
import engine.store.types

_UPLOAD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('material_link',
    sa.Column('upload_id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('linked_at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('linked_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ),
    sa.ForeignKeyConstraint(['upload_id'], ['upload.id'], ),
    sa.PrimaryKeyConstraint('upload_id', 'case_id')
    )
    with op.batch_alter_table('material_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_material_link_case_id'), ['case_id'], unique=False)
    _link_existing_materials()

    op.create_table('sign_in_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('at', engine.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sign_in_failure', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_failure_scope_key_at', ['scope', 'key', 'at'],
                              unique=False)


def _link_existing_materials() -> None:
    bind = op.get_bind()
    uploads = {row[0] for row in bind.execute(sa.text("SELECT id FROM upload"))}
    if not uploads:
        return
    links: set[tuple[str, int]] = set()
    for case_id, payload in bind.execute(sa.text("SELECT case_id, payload FROM case_event")):
        for upload_id in _UPLOAD_ID.findall(payload or ""):
            if upload_id in uploads:
                links.add((upload_id, case_id))
    now = datetime.now(timezone.utc)
    table = sa.table('material_link', sa.column('upload_id', sa.String),
                     sa.column('case_id', sa.Integer),
                     sa.column('linked_at', engine.store.types.UTCDateTime(timezone=True)),
                     sa.column('linked_by', sa.String))
    rows = [{"upload_id": u, "case_id": c, "linked_at": now, "linked_by": "migration"}
            for u, c in sorted(links)]
    for start in range(0, len(rows), 1000):
        op.bulk_insert(table, rows[start:start + 1000])


def downgrade() -> None:
    with op.batch_alter_table('sign_in_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_failure_scope_key_at')
    op.drop_table('sign_in_failure')
    with op.batch_alter_table('material_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_material_link_case_id'))
    op.drop_table('material_link')
