"""What the web chat keeps in the case database: each resident's inbox and queued messages.

- `webchat_inbox`: pushes for a session (case updates from the notifier, and bot replies to
  messages that waited for Rasa). A row is undelivered until the page acknowledges it, so a
  closed tab gets it on return and a dropped connection gets it again.
- `webchat_pending`: every message on its way to Rasa (kept before it is sent, so a replica
  killed while it relays leaves it to the retry loop), and messages a resident sent while
  Rasa was down or slow, retried in order.

The tables live beside the cases (SQLite by default, PostgreSQL for real use) so nothing is
lost on a restart; they are created by the migrations (`bot db upgrade`).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import (JSON, BigInteger, Column, DateTime, Index, Integer, MetaData, String,
                        Table, Text, and_, func, insert, select, update)
from sqlalchemy.engine import Engine

from bot.privacy import mask_text

BigId = BigInteger().with_variant(Integer(), "sqlite")
metadata = MetaData()

inbox = Table(
    "webchat_inbox", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session", String(64), nullable=False),
    Column("kind", String(16), nullable=False),          # update | bot
    Column("case_number", String(32)),
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("delivered_at", DateTime),
    Index("ix_webchat_inbox_session", "session", "delivered_at"),
)

pending = Table(
    "webchat_pending", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session", String(64), nullable=False),
    Column("message_id", String(48), nullable=False, unique=True),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False),         # pending | done | dead
    Column("tries", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_error", Text),
    Index("ix_webchat_pending_due", "status", "next_attempt_at"),
    Index("ix_webchat_pending_session", "session", "status"),
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class ChatStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ------------------------------------------------------------------ inbox
    def add(self, session: str, kind: str, payload: dict, case_number: str | None = None) -> dict:
        now = utcnow()
        with self.engine.begin() as conn:
            row_id = conn.execute(insert(inbox).returning(inbox.c.id), {
                "session": session, "kind": kind, "case_number": case_number,
                "payload": payload, "created_at": now}).scalar_one()
        return _item(row_id, kind, case_number, payload, now)

    def undelivered(self, session: str, limit: int = 200) -> list[dict]:
        stmt = (select(inbox).where(inbox.c.session == session, inbox.c.delivered_at.is_(None))
                .order_by(inbox.c.id).limit(limit))
        with self.engine.connect() as conn:
            return [_item(r.id, r.kind, r.case_number, r.payload, r.created_at)
                    for r in conn.execute(stmt)]

    def acknowledge(self, session: str, ids: list[int]) -> int:
        """Mark the session's own items delivered; ids of other sessions are ignored."""
        if not ids:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(update(inbox).where(
                inbox.c.session == session, inbox.c.id.in_(ids), inbox.c.delivered_at.is_(None))
                .values(delivered_at=utcnow())).rowcount

    # ------------------------------------------------------------------ queued messages
    def enqueue(self, session: str, message_id: str, text: str, error: str,
                delay: float = 5.0, tries: int = 1) -> int:
        now = utcnow()
        with self.engine.begin() as conn:
            return conn.execute(insert(pending).returning(pending.c.id), {
                "session": session, "message_id": message_id, "text": text, "status": "pending",
                "tries": tries, "next_attempt_at": now + timedelta(seconds=delay),
                "created_at": now, "last_error": error[:500]}).scalar_one()

    def postpone(self, row_id: int, error: str, delay: float = 5.0) -> None:
        """A try failed: the next one after `delay` seconds."""
        with self.engine.begin() as conn:
            conn.execute(update(pending).where(pending.c.id == row_id).values(
                tries=pending.c.tries + 1, last_error=error[:500],
                next_attempt_at=utcnow() + timedelta(seconds=delay)))

    def has_pending(self, session: str) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.scalar(select(func.count()).select_from(pending).where(
                pending.c.session == session, pending.c.status == "pending")))

    def due(self, lease_seconds: float = 60.0, limit: int = 50) -> list[dict]:
        """Claim the oldest pending message of each session whose turn has come.

        Claiming moves its next attempt a lease ahead, so another replica leaves it alone and
        a crashed one's claim runs out. Later messages of a session wait behind the oldest.
        """
        now = utcnow()
        oldest = (select(func.min(pending.c.id)).where(pending.c.status == "pending")
                  .group_by(pending.c.session))
        stmt = (select(pending).where(pending.c.id.in_(oldest), pending.c.next_attempt_at <= now)
                .order_by(pending.c.id).limit(limit))
        claimed = []
        with self.engine.begin() as conn:
            for row in conn.execute(stmt).all():
                moved = conn.execute(update(pending).where(
                    and_(pending.c.id == row.id, pending.c.next_attempt_at == row.next_attempt_at))
                    .values(next_attempt_at=now + timedelta(seconds=lease_seconds))).rowcount
                if moved:
                    claimed.append(dict(row._mapping))
        return claimed

    def done(self, row_id: int) -> None:
        """Delivered: the resident's words are Rasa's now; the row keeps them masked only."""
        with self.engine.begin() as conn:
            text = conn.scalar(select(pending.c.text).where(pending.c.id == row_id))
            conn.execute(update(pending).where(pending.c.id == row_id)
                         .values(status="done", last_error=None, text=mask_text(text) or ""))

    def retry_later(self, row_id: int, tries: int, error: str, *, give_up_after: timedelta,
                    created_at: datetime) -> str:
        """Back off (5 s doubling, at most 5 min); 'dead' once the message is too old."""
        now = utcnow()
        status = "dead" if now - created_at > give_up_after else "pending"
        delay = min(5 * 2 ** max(tries - 1, 0), 300)
        with self.engine.begin() as conn:
            conn.execute(update(pending).where(pending.c.id == row_id).values(
                status=status, tries=tries + 1, last_error=error[:500],
                next_attempt_at=now + timedelta(seconds=delay)))
        return status

    def pending_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(pending.c.status, func.count()).group_by(pending.c.status))
            return {status: count for status, count in rows}


def _item(row_id: int, kind: str, case_number: str | None, payload: dict,
          created_at: datetime) -> dict:
    return {"id": row_id, "kind": kind, "case": case_number, "at": created_at.isoformat(
        timespec="seconds") + "Z", **payload}
