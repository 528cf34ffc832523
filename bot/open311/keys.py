"""API keys of Open311 clients: random, printed once, kept only as their SHA-256.

One live key per client name; creating a key for a name that has one replaces it (the old
key stops working), revoking ends it.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from bot.cases.errors import InvalidInput
from bot.db import READ_ONLY
from bot.open311.models import clients as c

PREFIX = "jj311_"
MAX_KEY = 128
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Client:
    id: int
    name: str


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "backslashreplace")).hexdigest()


class ApiKeys:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, name: str, now: datetime) -> str:
        if not NAME.match(name or ""):
            raise InvalidInput(f"bad client name {name[:70]!r}",
                               "客户端名称只能用字母、数字和 . _ -（最多64个字符），以字母或数字开头")
        key = PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            found = conn.execute(select(c.c.id).where(c.c.name == name)).scalar()
            if found is None:
                conn.execute(insert(c).values(name=name, key_hash=digest(key), created_at=now))
            else:
                conn.execute(update(c).where(c.c.id == found)
                             .values(key_hash=digest(key), created_at=now, revoked_at=None))
        return key

    def revoke(self, name: str, now: datetime) -> bool:
        """Whether the client had a live key."""
        with self.engine.begin() as conn:
            done = conn.execute(update(c).where(c.c.name == name, c.c.revoked_at.is_(None))
                                .values(revoked_at=now))
        return done.rowcount > 0

    def find(self, key: str | None) -> Client | None:
        """The client of a live key, or None (missing, malformed, unknown or revoked)."""
        if not key or len(key) > MAX_KEY or not key.startswith(PREFIX):
            return None
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            row = conn.execute(select(c.c.id, c.c.name).where(
                c.c.key_hash == digest(key), c.c.revoked_at.is_(None))).first()
        return Client(row.id, row.name) if row else None
