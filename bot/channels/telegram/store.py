"""The `telegram_updates` table: every update is stored before Telegram is answered.

* exactly once: the update_id is the primary key, so a redelivered update (Telegram retries
  a webhook, or a poll repeats after a crash) is recognised and changes nothing;
* nothing lost: an update stays `pending` until handled, so a restart, or the dialogue being
  down, only delays it; `next_attempt_at` spaces the retries;
* one handler: adapter replicas share the table, and a replica handles an update only after
  `claim` moved its `next_attempt_at` a lease ahead (a crashed holder's lease runs out);
* `done` / `skipped` rows are pruned after two weeks (Telegram never redelivers that late);
  `failed` rows stay for staff.

The table is created by migration 0002; it has its own MetaData because it belongs to the
channel, not to the case model.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import (BigInteger, Boolean, Column, DateTime, Index, Integer, MetaData, String,
                        Table, Text, delete, func, insert, select, update)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.privacy import mask_value

metadata = MetaData()

telegram_updates = Table(
    "telegram_updates", metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("chat_id", BigInteger, nullable=True),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),     # pending | done | skipped | failed
    Column("tries", Integer, nullable=False, default=0),
    Column("notified", Boolean, nullable=False, default=False),
    Column("received_at", DateTime, nullable=False),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("done_at", DateTime, nullable=True),
    Column("last_error", String(500), nullable=True),
    Index("ix_telegram_updates_chat", "chat_id", "status", "update_id"),
    Index("ix_telegram_updates_due", "status", "next_attempt_at"),
)

PENDING, DONE, SKIPPED, FAILED = "pending", "done", "skipped", "failed"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class StoredUpdate:
    update_id: int
    chat_id: int | None
    payload: dict
    status: str
    tries: int
    notified: bool
    received_at: datetime
    next_attempt_at: datetime

    @classmethod
    def from_row(cls, row) -> "StoredUpdate":
        return cls(update_id=row.update_id, chat_id=row.chat_id, payload=json.loads(row.payload),
                   status=row.status, tries=row.tries, notified=row.notified,
                   received_at=row.received_at, next_attempt_at=row.next_attempt_at)


class UpdateStore:
    """Synchronous and short; the adapter calls it from a worker thread."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    def add(self, update_id: int, chat_id: int | None, payload: dict, *,
            status: str = PENDING) -> bool:
        """Store a new update; False when this update_id was seen before (a redelivery)."""
        now = self.clock()
        row = dict(update_id=update_id, chat_id=chat_id, status=status, tries=0, notified=False,
                   payload=json.dumps(payload, ensure_ascii=False), received_at=now,
                   next_attempt_at=now, done_at=None if status == PENDING else now)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(telegram_updates), row)
        except IntegrityError:
            return False
        return True

    def pending_for_chat(self, chat_id: int, limit: int = 100) -> list[StoredUpdate]:
        t = telegram_updates
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.chat_id == chat_id, t.c.status == PENDING)
                                .order_by(t.c.update_id).limit(limit)).all()
        return [StoredUpdate.from_row(r) for r in rows]

    def chats_due(self, limit: int = 1000) -> list[int]:
        """Chats whose oldest pending update may be tried now (later ones wait behind it)."""
        t, earlier = telegram_updates, telegram_updates.alias("earlier")
        older_pending = (select(earlier.c.update_id)
                         .where(earlier.c.chat_id == t.c.chat_id, earlier.c.status == PENDING,
                                earlier.c.update_id < t.c.update_id).exists())
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.chat_id).where(
                t.c.status == PENDING, t.c.next_attempt_at <= self.clock(),
                t.c.chat_id.is_not(None), ~older_pending).limit(limit)).all()
        return [r.chat_id for r in rows]

    def claim(self, update_id: int, lease: timedelta) -> bool:
        """Take a due update for handling: False when another replica took it meanwhile."""
        t, now = telegram_updates, self.clock()
        with self.engine.begin() as conn:
            return conn.execute(update(t).where(
                t.c.update_id == update_id, t.c.status == PENDING, t.c.next_attempt_at <= now)
                .values(next_attempt_at=now + lease)).rowcount == 1

    def _set(self, update_id: int, **values) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(telegram_updates)
                         .where(telegram_updates.c.update_id == update_id).values(**values))

    def _finish(self, update_id: int, **values) -> None:
        """Handled: the update is kept for deduplication, its personal data masked."""
        t = telegram_updates
        with self.engine.begin() as conn:
            raw = conn.scalar(select(t.c.payload).where(t.c.update_id == update_id))
            if raw is not None:
                values["payload"] = json.dumps(mask_value(json.loads(raw)), ensure_ascii=False)
            conn.execute(update(t).where(t.c.update_id == update_id).values(**values))

    def mark_done(self, update_id: int) -> None:
        self._finish(update_id, status=DONE, done_at=self.clock())

    def mark_failed(self, update_id: int, error: str) -> None:
        self._finish(update_id, status=FAILED, done_at=self.clock(), last_error=error[:500])

    def mark_notified(self, update_id: int) -> None:
        self._set(update_id, notified=True)

    def defer(self, update_id: int, delay: timedelta, error: str) -> None:
        """Keep the update pending and try again after `delay`."""
        t = telegram_updates
        self._set(update_id, tries=t.c.tries + 1, notified=True, last_error=error[:500],
                  next_attempt_at=self.clock() + delay)

    def get(self, update_id: int) -> StoredUpdate | None:
        t = telegram_updates
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.update_id == update_id)).first()
        return StoredUpdate.from_row(row) if row else None

    def counts(self) -> dict[str, int]:
        t = telegram_updates
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.status, func.count()).group_by(t.c.status)).all()
        return {status: count for status, count in rows}

    def prune(self, older_than: timedelta = timedelta(days=14)) -> int:
        t = telegram_updates
        with self.engine.begin() as conn:
            result = conn.execute(delete(t).where(t.c.status.in_([DONE, SKIPPED]),
                                                  t.c.done_at < self.clock() - older_than))
        return result.rowcount or 0
