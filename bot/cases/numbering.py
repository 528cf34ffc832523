"""Readable case numbers: PREFIX + local date + '-' + a counter that increases within the day."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.cases.models import CaseCounter

NUMBER_PATTERN = re.compile(r"^[A-Za-z]{0,4}\d{8}-\d{4,}$")


def next_number(session: Session, prefix: str, day: str) -> str:
    """Take the next number of `day` (YYYYMMDD) inside the caller's transaction.

    An upsert that increments: the row lock it takes serialises concurrent openers, and a
    rolled-back transaction gives its number back.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(CaseCounter).values(day=day, last=1)
            .on_conflict_do_update(index_elements=[CaseCounter.day],
                                   set_={"last": CaseCounter.last + 1})
            .returning(CaseCounter.last))
    last = session.execute(stmt).scalar_one()
    return f"{prefix}{day}-{last:04d}"


def last_number(session: Session, day: str) -> int:
    return session.scalar(select(CaseCounter.last).where(CaseCounter.day == day)) or 0


def is_case_number(value: str) -> bool:
    return bool(NUMBER_PATTERN.match(value.strip()))
