"""How often one chat may write: a moving window per session, and a wider one per client
address (a script without cookies gets a new session with every message).

Counted in Redis when REDIS_URL is set, so every app replica counts together; in memory
otherwise. When Redis cannot be reached the message goes through: the limiter must never be
the reason a resident's message is lost.
"""
from __future__ import annotations

import logging
import math
import time

from limits import parse_many, storage, strategies

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 0.5     # seconds; a slow Redis must not hold up a resident's message
# Refused messages of one address a minute that this process reads with the safety classifiers
# as well as the rules (`full_safety_read`); beyond, the rules alone: a flood's CPU stays small.
SAFETY_READS = "60/minute"


class MessageLimiter:
    def __init__(self, per_session: str, per_address: str, redis_url: str | None = None) -> None:
        store = (storage.storage_from_string(redis_url, socket_timeout=REDIS_TIMEOUT,
                                             socket_connect_timeout=REDIS_TIMEOUT)
                 if redis_url else storage.MemoryStorage())
        self._limiter = strategies.MovingWindowRateLimiter(store)
        self._per_session = parse_many(per_session)
        self._per_address = parse_many(per_address)
        self._local = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self._safety_reads = parse_many(SAFETY_READS)

    def allow(self, session: str, address: str) -> bool:
        """Count one message; False when the session or the address is over its limit."""
        return self.admit(session, address) is None

    def admit(self, session: str, address: str) -> int | None:
        """Count one message: None when it may go, else the whole seconds until the session
        (or the address) may write again, for a `Retry-After`."""
        try:
            for scope, key, items in (("chat-session", session, self._per_session),
                                      ("chat-address", address, self._per_address)):
                for item in items:
                    if not self._limiter.hit(item, scope, key):
                        return self._wait(item, scope, key)
            return None
        except Exception:  # noqa: BLE001 - see the module docstring
            log.warning("rate limiter unavailable; message let through", exc_info=True)
            return None

    def full_safety_read(self, address: str) -> bool:
        """Whether a refused message from `address` may be read by the safety classifiers too
        (a few a minute, counted in this process: it is this process's CPU they spend)."""
        return all(self._local.hit(item, "chat-safety", address) for item in self._safety_reads)

    def _wait(self, item, scope: str, key: str) -> int:
        """Seconds until the oldest message of the spent window leaves it (at least 1)."""
        try:
            reset = self._limiter.get_window_stats(item, scope, key).reset_time
            return max(1, min(item.get_expiry(), math.ceil(reset - time.time())))
        except Exception:  # noqa: BLE001 - the refusal stands; its wait is then the window
            return item.get_expiry()
