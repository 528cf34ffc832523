"""Lockout after failed logins: 5 failures within 15 minutes lock for 15 minutes.

Counted per username and per client address, under keys `user:<name>` and `addr:<ip>`. In
Redis when there is one (replicas share the count; INCR and EXPIRE run as one script, so two
requests at once cannot both miss the lock), else in the `login_failures` table. A success
clears the username's count, never the address's (one good account must not unlock guessing
at others from the same address).
"""
from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, case, delete, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.staff.models import login_failures as t

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60


def user_key(username: str) -> str:
    """Keys are hashed: what was typed as a username may be a password in the wrong field."""
    return "user:" + _digest(username.strip().lower())


def address_key(address: str | None) -> str:
    return "addr:" + _digest(address or "-")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "backslashreplace")).hexdigest()


class Lockout(Protocol):
    def locked(self, key: str, now: datetime) -> int | None:
        """Seconds until `key` may try again, or None when it is not locked."""

    def fail(self, key: str, now: datetime) -> int | None:
        """Count one failure; the seconds of the lock when this failure locks (or it was locked)."""

    def clear(self, key: str) -> None:
        """Forget the failures of `key`."""


class DatabaseLockout:
    """Counts in `login_failures`; the count starts over once the window after its first
    failure (or the lock) has passed."""

    def __init__(self, engine: Engine, *, max_failures: int = MAX_FAILURES,
                 lock_seconds: int = LOCK_SECONDS) -> None:
        self.engine, self.max_failures = engine, max_failures
        self.window = timedelta(seconds=lock_seconds)

    def locked(self, key: str, now: datetime) -> int | None:
        with self.engine.connect() as conn:
            until = conn.execute(select(t.c.locked_until).where(t.c.key == key)).scalar()
        return _seconds_left(until, now)

    def fail(self, key: str, now: datetime) -> int | None:
        # a row whose window or lock has passed counts for nothing any more
        stale = or_(and_(t.c.locked_until.is_(None), t.c.first_at <= now - self.window),
                    t.c.locked_until <= now)
        counted = update(t).where(t.c.key == key).values(
            failures=case((stale, 1), else_=t.c.failures + 1),
            first_at=case((stale, now), else_=t.c.first_at),
            locked_until=case((stale, None), (t.c.locked_until.is_not(None), t.c.locked_until),
                              (t.c.failures + 1 >= self.max_failures, now + self.window),
                              else_=None))
        for _ in range(3):      # a concurrent first failure may insert the row between our steps
            with self.engine.begin() as conn:
                if conn.execute(counted).rowcount == 0:
                    conn.execute(delete(t).where(stale))    # a first failure sweeps old keys
                    try:
                        with conn.begin_nested():
                            conn.execute(insert(t).values(
                                key=key, failures=1, first_at=now,
                                locked_until=now + self.window if self.max_failures <= 1 else None))
                    except IntegrityError:
                        continue
                until = conn.execute(select(t.c.locked_until).where(t.c.key == key)).scalar()
            return _seconds_left(until, now)
        return None

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.key == key))


def _seconds_left(until: datetime | None, now: datetime) -> int | None:
    if until is None or until <= now:
        return None
    return max(1, math.ceil((until - now).total_seconds()))


# KEYS[1] the counter; ARGV[1] max failures, ARGV[2] seconds. Returns {count, ttl}.
_FAIL = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or n == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return {n, redis.call('TTL', KEYS[1])}
"""


class RedisLockout:
    """Counts in Redis under `<prefix>lock:<key>`; the key expires with the window, and is
    given a fresh 15 minutes when the count reaches the limit. Redis keeps the time."""

    def __init__(self, client, *, prefix: str = "jj:staff:", max_failures: int = MAX_FAILURES,
                 lock_seconds: int = LOCK_SECONDS) -> None:
        self.client, self.prefix = client, prefix + "lock:"
        self.max_failures, self.lock_seconds = max_failures, lock_seconds
        self._fail = client.register_script(_FAIL)

    def locked(self, key: str, now: datetime) -> int | None:
        name = self.prefix + key
        count, ttl = self.client.pipeline(transaction=False).get(name).ttl(name).execute()
        return self._left(int(count or 0), ttl)

    def fail(self, key: str, now: datetime) -> int | None:
        count, ttl = self._fail(keys=[self.prefix + key],
                                args=[self.max_failures, self.lock_seconds])
        return self._left(int(count), ttl)

    def clear(self, key: str) -> None:
        self.client.delete(self.prefix + key)

    def _left(self, count: int, ttl: int) -> int | None:
        if count < self.max_failures:
            return None
        return max(1, int(ttl)) if ttl != -2 else None
