"""API tokens for machine clients: random, shown once, kept only as their SHA-256.

A token carries its account's session epoch: a password reset or disable makes every token
of the account stale, as it does the sessions. Revoking ends all of an account's tokens.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from bot.staff.models import staff_tokens as t
from bot.staff.sessions import digest

PREFIX = "jjst_"        # recognisable in a leaked config file or a secret scanner
MAX_LENGTH = 128
NOTE_USE_EVERY = timedelta(minutes=5)


class Tokens:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, staff_id: int, epoch: int, label: str | None, now: datetime) -> str:
        token = PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(insert(t).values(staff_id=staff_id, token_hash=digest(token), label=label,
                                          epoch=epoch, created_at=now))
        return token

    def find(self, token: str | None, now: datetime) -> tuple[int, int] | None:
        """(staff id, epoch) of a token that was not revoked; its use is noted."""
        if not token or len(token) > MAX_LENGTH or not token.startswith(PREFIX):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.id, t.c.staff_id, t.c.epoch, t.c.last_used_at)
                               .where(t.c.token_hash == digest(token), t.c.revoked_at.is_(None))
                               ).first()
        if row is None:
            return None
        if row.last_used_at is None or now - row.last_used_at >= NOTE_USE_EVERY:
            with self.engine.begin() as conn:
                conn.execute(update(t).where(t.c.id == row.id).values(last_used_at=now))
        return row.staff_id, row.epoch

    def revoke(self, staff_id: int, now: datetime) -> int:
        """Revoke every live token of the account; how many there were."""
        with self.engine.begin() as conn:
            return conn.execute(update(t).where(t.c.staff_id == staff_id, t.c.revoked_at.is_(None))
                                .values(revoked_at=now)).rowcount

