"""Settings of the Open311 door, from the environment, and its per-client rate limit."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from limits import parse_many, storage, strategies

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Open311Settings:
    jurisdiction: str = "jianjian"          # OPEN311_JURISDICTION: the one jurisdiction_id served
    rate_per_key: str = "600/minute"        # OPEN311_RATE_PER_KEY: POSTs one client may make
    contact: str = ""                       # OPEN311_CONTACT: shown in the discovery document

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Open311Settings":
        env = os.environ if environ is None else environ
        return cls(jurisdiction=env.get("OPEN311_JURISDICTION") or cls.jurisdiction,
                   rate_per_key=env.get("OPEN311_RATE_PER_KEY") or cls.rate_per_key,
                   contact=env.get("OPEN311_CONTACT") or cls.contact)


class KeyLimiter:
    """A moving window per client, in Redis when REDIS_URL is set; lets requests through when
    Redis cannot be reached (as the chat's limiter does)."""

    def __init__(self, rate: str, redis_url: str | None = None) -> None:
        store = (storage.storage_from_string(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
                 if redis_url else storage.MemoryStorage())
        self._limiter = strategies.MovingWindowRateLimiter(store)
        self._rates = parse_many(rate)

    def allow(self, client: str) -> bool:
        try:
            return all(self._limiter.hit(item, "open311-key", client) for item in self._rates)
        except Exception:  # noqa: BLE001 - the limiter must never be why a request is lost
            log.warning("open311 rate limiter unavailable; request let through", exc_info=True)
            return True
