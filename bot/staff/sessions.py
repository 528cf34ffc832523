"""Server-side staff sessions: a random id in the cookie, only its SHA-256 kept on our side.

A session ends when it has not been used for the idle timeout (STAFF_IDLE_MINUTES, 30), when
it is older than the absolute limit (STAFF_SESSION_HOURS, 12), on logout, and — checked by the
account service against `staff_accounts.session_epoch` — when the password is reset or the
account disabled. Each session has its own CSRF token. Kept in Redis when there is one (the key
expires with the idle timeout and is refreshed on use), else in the `staff_sessions` table.
Last use is written at most once a minute, so idle expiry is exact to the minute.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine

from bot.staff.models import staff_sessions as t

TOUCH_EVERY = timedelta(seconds=60)
MAX_ID_LENGTH = 128


def digest(secret: str) -> str:
    """What is stored of a session id or an API token."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionRecord:
    staff_id: int
    epoch: int
    csrf_token: str
    address: str | None
    created_at: datetime
    last_seen_at: datetime


class Backend(Protocol):
    def put(self, id_hash: str, record: SessionRecord, ttl: int) -> None: ...
    def load(self, id_hash: str) -> SessionRecord | None: ...
    def touch(self, id_hash: str, now: datetime, ttl: int) -> None: ...
    def remove(self, id_hash: str) -> None: ...
    def remove_staff(self, staff_id: int) -> None: ...
    def sweep(self, seen_before: datetime, created_before: datetime) -> None: ...


class Sessions:
    """Create, find and end sessions; the expiry rules live here, the keeping in `backend`."""

    def __init__(self, backend: Backend, *, idle: timedelta, absolute: timedelta) -> None:
        self.backend, self.idle, self.absolute = backend, idle, absolute

    def create(self, staff_id: int, epoch: int, address: str | None, now: datetime) -> tuple[str, str]:
        """A new session: (session id for the cookie, CSRF token)."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        record = SessionRecord(staff_id, epoch, csrf, (address or "")[:64] or None, now, now)
        self.backend.sweep(now - self.idle, now - self.absolute)
        self.backend.put(digest(session_id), record, self._ttl(record, now))
        return session_id, csrf

    def get(self, session_id: str | None, now: datetime) -> SessionRecord | None:
        """The live session of `session_id` (its last use noted), or None."""
        if not session_id or len(session_id) > MAX_ID_LENGTH:
            return None
        id_hash = digest(session_id)
        record = self.backend.load(id_hash)
        if record is None:
            return None
        if now - record.last_seen_at >= self.idle or now - record.created_at >= self.absolute:
            self.backend.remove(id_hash)
            return None
        if now - record.last_seen_at >= TOUCH_EVERY:
            self.backend.touch(id_hash, now, self._ttl(record, now))
        return record

    def end(self, session_id: str | None) -> None:
        if session_id and len(session_id) <= MAX_ID_LENGTH:
            self.backend.remove(digest(session_id))

    def end_all(self, staff_id: int) -> None:
        self.backend.remove_staff(staff_id)

    def _ttl(self, record: SessionRecord, now: datetime) -> int:
        left = min(self.idle, record.created_at + self.absolute - now)
        return max(1, int(left.total_seconds()))


class DatabaseSessions:
    """Sessions in `staff_sessions`; expired rows go when they are next looked up, or with
    `end_all` for their account."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, id_hash: str, record: SessionRecord, ttl: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(t).values(
                id_hash=id_hash, staff_id=record.staff_id, epoch=record.epoch,
                csrf_token=record.csrf_token, address=record.address,
                created_at=record.created_at, last_seen_at=record.last_seen_at))

    def load(self, id_hash: str) -> SessionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id_hash == id_hash)).mappings().first()
        if row is None:
            return None
        return SessionRecord(row["staff_id"], row["epoch"], row["csrf_token"], row["address"],
                             row["created_at"], row["last_seen_at"])

    def touch(self, id_hash: str, now: datetime, ttl: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id_hash == id_hash).values(last_seen_at=now))

    def remove(self, id_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.id_hash == id_hash))

    def remove_staff(self, staff_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.staff_id == staff_id))

    def sweep(self, seen_before: datetime, created_before: datetime) -> None:
        """Forget sessions that ended by time and were never looked up again."""
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(or_(t.c.last_seen_at <= seen_before,
                                             t.c.created_at <= created_before)))


class RedisSessions:
    """Sessions as Redis hashes `<prefix>session:<sha256>` expiring with the idle timeout, and
    a set per account `<prefix>staff-sessions:<id>` so that all of one account's can be ended."""

    def __init__(self, client, *, prefix: str = "jj:staff:") -> None:
        self.client, self.prefix = client, prefix

    def _key(self, id_hash: str) -> str:
        return f"{self.prefix}session:{id_hash}"

    def _index(self, staff_id: int) -> str:
        return f"{self.prefix}staff-sessions:{staff_id}"

    def put(self, id_hash: str, record: SessionRecord, ttl: int) -> None:
        key, index = self._key(id_hash), self._index(record.staff_id)
        pipe = self.client.pipeline()
        pipe.hset(key, mapping={
            "staff_id": record.staff_id, "epoch": record.epoch, "csrf": record.csrf_token,
            "address": record.address or "", "created_at": record.created_at.isoformat(),
            "last_seen_at": record.last_seen_at.isoformat()})
        pipe.expire(key, ttl)
        pipe.sadd(index, id_hash)
        pipe.expire(index, 7 * 86400)
        pipe.execute()

    def load(self, id_hash: str) -> SessionRecord | None:
        data = {k.decode(): v.decode() for k, v in self.client.hgetall(self._key(id_hash)).items()}
        if "csrf" not in data:
            return None
        return SessionRecord(int(data["staff_id"]), int(data["epoch"]), data["csrf"],
                             data["address"] or None, datetime.fromisoformat(data["created_at"]),
                             datetime.fromisoformat(data["last_seen_at"]))

    def touch(self, id_hash: str, now: datetime, ttl: int) -> None:
        key = self._key(id_hash)
        pipe = self.client.pipeline()
        pipe.hset(key, "last_seen_at", now.isoformat())
        pipe.expire(key, ttl)
        pipe.execute()

    def remove(self, id_hash: str) -> None:
        self.client.delete(self._key(id_hash))

    def remove_staff(self, staff_id: int) -> None:
        index = self._index(staff_id)
        hashes = [h.decode() for h in self.client.smembers(index)]
        self.client.delete(index, *(self._key(h) for h in hashes))

    def sweep(self, seen_before: datetime, created_before: datetime) -> None:
        """Nothing to do: Redis expires the keys itself."""
