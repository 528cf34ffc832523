"""cases.case_type (the 12345 type), and personal data already stored in free text masked

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 06:30:00

Rows written before masking on write existed may hold a phone number or 身份证号 inside
`cases.summary/text/place`, `events.public_text/internal_note/data` and `outbox.text`: they are
masked here with the detectors of `bot.privacy` (the contact fields are left as they are).
Existing cases get their type predicted from their text. Downgrade drops the column only:
masking cannot be undone.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_type', sa.String(length=8), nullable=True))
    conn = op.get_bind()
    _mask_cases(conn)
    _mask_column_rows(conn, 'events', ('public_text', 'internal_note'), json_column='data')
    _mask_column_rows(conn, 'outbox', ('text',))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('case_type')


def _mask_cases(conn) -> None:
    from bot.nlu.case_type import predict_case_type
    from bot.privacy import mask_text

    cases = sa.table('cases', sa.column('id'), sa.column('summary'), sa.column('text'),
                     sa.column('place'), sa.column('case_type'))
    last = 0
    while True:
        rows = conn.execute(sa.select(cases.c.id, cases.c.summary, cases.c.text, cases.c.place)
                            .where(cases.c.id > last).order_by(cases.c.id).limit(_BATCH)).all()
        if not rows:
            return
        for row in rows:
            conn.execute(cases.update().where(cases.c.id == row.id).values(
                summary=mask_text(row.summary), text=mask_text(row.text),
                place=mask_text(row.place), case_type=predict_case_type(row.text)))
        last = rows[-1].id


def _mask_column_rows(conn, name: str, columns: tuple[str, ...], json_column: str | None = None) -> None:
    from bot.privacy import find, mask_text, mask_value

    table = sa.table(name, sa.column('id'), *(sa.column(c) for c in columns),
                     *([sa.column(json_column, sa.JSON)] if json_column else []))
    wanted = [table.c.id, *(table.c[c] for c in columns)]
    if json_column:
        wanted.append(table.c[json_column])
    last = 0
    while True:
        rows = conn.execute(sa.select(*wanted).where(table.c.id > last)
                            .order_by(table.c.id).limit(_BATCH)).all()
        if not rows:
            return
        for row in rows:
            values = {c: mask_text(getattr(row, c)) for c in columns
                      if getattr(row, c) and find(getattr(row, c))}
            if json_column and getattr(row, json_column):
                masked = mask_value(getattr(row, json_column))
                if masked != getattr(row, json_column):
                    values[json_column] = masked
            if values:
                conn.execute(table.update().where(table.c.id == row.id).values(**values))
        last = rows[-1].id
