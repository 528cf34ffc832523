"""How often one chat may write: a moving window per session, and a wider one per client
address (a script without cookies gets a new session with every message).

Counted in Redis when REDIS_URL is set, so every app replica counts together; in memory
otherwise. When Redis cannot be reached the message goes through: the limiter must never be
the reason a resident's message is lost.
"""
from __future__ import annotations

import logging

from limits import parse_many, storage, strategies

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 0.5     # seconds; a slow Redis must not hold up a resident's message


class MessageLimiter:
    def __init__(self, per_session: str, per_address: str, redis_url: str | None = None) -> None:
        store = (storage.storage_from_string(redis_url, socket_timeout=REDIS_TIMEOUT,
                                             socket_connect_timeout=REDIS_TIMEOUT)
                 if redis_url else storage.MemoryStorage())
        self._limiter = strategies.MovingWindowRateLimiter(store)
        self._per_session = parse_many(per_session)
        self._per_address = parse_many(per_address)

    def allow(self, session: str, address: str) -> bool:
        """Count one message; False when the session or the address is over its limit."""
        try:
            return (all(self._limiter.hit(item, "chat-session", session) for item in self._per_session)
                    and all(self._limiter.hit(item, "chat-address", address)
                            for item in self._per_address))
        except Exception:  # noqa: BLE001 - see the module docstring
            log.warning("rate limiter unavailable; message let through", exc_info=True)
            return True
