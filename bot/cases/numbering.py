"""Readable case numbers: PREFIX + local date + '-' + a counter that increases within the day."""
from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


NUMBER_PATTERN = re.compile(r"^[A-Za-z]{0,4}\d{8}-\d{4,}$")


# Plain text so it compiles once (SQLAlchemy does not cache compiled ON CONFLICT constructs).
_NEXT = text("INSERT INTO case_counters (day, last) VALUES (:day, 1) "
             "ON CONFLICT (day) DO UPDATE SET last = case_counters.last + 1 RETURNING last")


def next_number(session: Session, prefix: str, day: str) -> str:
    """Take the next number of `day` (YYYYMMDD) inside the caller's transaction.

    SQLite: a counter row (one writer at a time anyway; no gaps).
    PostgreSQL: a sequence per day, so concurrent openers never queue behind a counter's row
    lock for their whole transaction; a rolled-back open leaves a gap, never a duplicate.
    """
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        last = session.execute(_NEXT, {"day": day}).scalar_one()
    else:
        _ensure_day_sequence(bind.engine, day)
        last = session.execute(text(f"SELECT nextval('{_sequence_name(day)}')")).scalar_one()
    return f"{prefix}{day}-{last:04d}"


_known_sequences: set[tuple[str, str]] = set()


def _sequence_name(day: str) -> str:
    if not (len(day) == 8 and day.isdigit()):
        raise ValueError(day)
    return f"case_number_{day}"


def _ensure_day_sequence(engine, day: str) -> None:
    """Create the day's sequence once (own autocommit connection; safe under races)."""
    key = (str(engine.url), day)
    if key in _known_sequences:
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        try:
            conn.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {_sequence_name(day)}"))
        except IntegrityError:
            pass  # another process created it at the same moment
    _known_sequences.add(key)


def is_case_number(value: str) -> bool:
    return bool(NUMBER_PATTERN.match(value.strip()))
