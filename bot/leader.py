"""One holder at a time for a background job among app replicas: a Redis key with a lease.

`held()` takes the key when it is free (SET NX PX) or renews it when this process holds it,
so the holder keeps it while it runs and another replica takes over within `ttl` seconds of
it dying. Without Redis (the single-process default) every call says yes.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket

log = logging.getLogger(__name__)

# Renew only while the key still carries our token (atomic on the Redis side).
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Leader:
    def __init__(self, redis_url: str | None, name: str, ttl: float = 30.0) -> None:
        self.key = f"jianjian:leader:{name}"
        self.ttl_ms = int(ttl * 1000)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._redis = None
        self._renew = self._release = None
        self.leading = False
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3)
            self._renew = self._redis.register_script(_RENEW)
            self._release = self._redis.register_script(_RELEASE)

    def held(self) -> bool:
        """True while this process holds the job (a Redis failure counts as not holding)."""
        if self._redis is None:
            return True
        import redis

        try:
            leading = bool(self._renew(keys=[self.key], args=[self.token, self.ttl_ms])) or bool(
                self._redis.set(self.key, self.token, nx=True, px=self.ttl_ms))
        except redis.RedisError as exc:
            log.warning("leader %s: redis unavailable (%s); not running it here", self.key, exc)
            leading = False
        if leading != self.leading:
            log.info("%s %s on this replica", self.key, "taken" if leading else "lost")
            self.leading = leading
        return leading

    def release(self) -> None:
        if self._redis is None or not self.leading:
            return
        import redis

        try:
            self._release(keys=[self.key], args=[self.token])
        except redis.RedisError:
            pass
        self.leading = False
