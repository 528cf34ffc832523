"""Readable case numbers: PREFIX + local date + '-' + a counter that increases within the day."""
from __future__ import annotations

import re

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.cases.models import CaseCounter

NUMBER_PATTERN = re.compile(r"^[A-Za-z]{0,4}\d{8}-\d{4,}$")


# Valid on both PostgreSQL and SQLite (>= 3.35); plain text so it compiles once, cheaply
# (SQLAlchemy does not cache compiled ON CONFLICT constructs).
_NEXT = text("INSERT INTO case_counters (day, last) VALUES (:day, 1) "
             "ON CONFLICT (day) DO UPDATE SET last = case_counters.last + 1 RETURNING last")
_ASYNC_COMMIT = text("SET LOCAL synchronous_commit TO OFF")


def next_number(session: Session, prefix: str, day: str) -> str:
    """Take the next number of `day` (YYYYMMDD).

    SQLite: inside the caller's transaction (one writer at a time anyway; no gaps).
    PostgreSQL: in a short transaction of its own, like a sequence, so concurrent openers do
    not queue behind the counter's row lock for their whole transaction; a failed open leaves
    a gap, never a duplicate. That transaction commits asynchronously: WAL order guarantees it
    is durable whenever the case that uses the number is.
    """
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        last = session.execute(_NEXT, {"day": day}).scalar_one()
    else:
        with bind.engine.begin() as conn:
            conn.execute(_ASYNC_COMMIT)
            last = conn.execute(_NEXT, {"day": day}).scalar_one()
    return f"{prefix}{day}-{last:04d}"


def last_number(session: Session, day: str) -> int:
    return session.scalar(select(CaseCounter.last).where(CaseCounter.day == day)) or 0


def is_case_number(value: str) -> bool:
    return bool(NUMBER_PATTERN.match(value.strip()))
