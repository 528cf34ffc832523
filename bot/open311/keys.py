"""API keys of Open311 clients: random, printed once, kept only as their SHA-256.

One live key per client name; creating a key for a name that has one replaces it (the old
key stops working), revoking ends it.

The web door looks keys up through a short cache (`cache_seconds`, CACHE_SECONDS): a change
made in this process (create, revoke) is seen by every cache at once; one made by another
process (`bot open311 key revoke`, another replica) within CACHE_SECONDS. Unknown keys are
never cached, so a new key works at its first request.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import time
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
CACHE_SECONDS = 2.0             # how long another process's revocation may go unseen
CACHE_SIZE = 1024               # live keys remembered per cache (emptied when full)
_changes = 0                    # keys created or revoked by this process: caches compare it


@dataclass(frozen=True)
class Client:
    id: int
    name: str


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "backslashreplace")).hexdigest()


class ApiKeys:
    def __init__(self, engine: Engine, *, cache_seconds: float = 0.0, clock=time.monotonic) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[Client, float, int]] = {}    # digest → client, expiry, _changes

    @staticmethod
    def _changed() -> None:
        global _changes
        _changes += 1

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
        self._changed()
        return key

    def revoke(self, name: str, now: datetime) -> bool:
        """Whether the client had a live key."""
        with self.engine.begin() as conn:
            done = conn.execute(update(c).where(c.c.name == name, c.c.revoked_at.is_(None))
                                .values(revoked_at=now))
        self._changed()
        return done.rowcount > 0

    def find(self, key: str | None) -> Client | None:
        """The client of a live key, or None (missing, malformed, unknown or revoked)."""
        if not key or len(key) > MAX_KEY or not key.startswith(PREFIX):
            return None
        hashed = digest(key)
        if self.cache_seconds > 0:
            hit = self._cache.get(hashed)
            if hit is not None and hit[2] == _changes and hit[1] > self._clock():
                return hit[0]
        changes = _changes
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            row = conn.execute(select(c.c.id, c.c.name).where(
                c.c.key_hash == hashed, c.c.revoked_at.is_(None))).first()
        if row is None:
            self._cache.pop(hashed, None)
            return None
        found = Client(row.id, row.name)
        if self.cache_seconds > 0:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[hashed] = (found, self._clock() + self.cache_seconds, changes)
        return found
