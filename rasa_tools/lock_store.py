"""A Redis lock store that several Rasa processes can share: each conversation in turn, in order.

Rasa 3.6's `RedisLockStore` keeps a conversation's ticket lock as one JSON value that every
process reads, changes and writes back (`get_lock` … `save_lock`). Two replicas that receive a
message of the same sender at the same moment both read "no lock", both issue ticket 0, both
believe they hold the lock, and the second tracker saved overwrites the first: a resident's
message is lost (seen in CI with two replicas behind HAProxy; RasaHQ/rasa#9213, and the
`ConcurrentRedisLockStore` that was meant to fix it was reverted, RasaHQ/rasa#11428).

Here every step is one Lua script, so it is atomic in Redis:
- **issue**: `INCR` the conversation's ticket counter; the ticket joins a sorted set (its queue)
  and gets a key of its own that expires after the lock lifetime (a holder that dies frees the
  conversation when its ticket key expires, as Rasa's tickets expire);
- **turn**: the ticket is served when no lower ticket in the queue is still alive (dead ones are
  dropped on the way), so messages are handled in the order their tickets were issued;
- **release**: the ticket key and its queue entry go.

Waiting polls every `POLL_SECONDS` (Rasa's store sleeps a whole second between tries, which a
second message of the same resident felt as a second of latency). Configured in endpoints.yml as
`lock_store: type: rasa_tools.lock_store.AtomicRedisLockStore` with Rasa's Redis keys (`url`,
`port`, `db`, `password`, `use_ssl`, `key_prefix`).
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Optional

import redis.asyncio as redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.02
RELEASE_RETRY_SECONDS = 0.25

# KEYS: counter, queue, ticket prefix · ARGV: lifetime ms → the new ticket number
_ISSUE = """
local ticket = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], ticket, ticket)
redis.call('SET', KEYS[3] .. ticket, 1, 'PX', ARGV[1])
local keep = tonumber(ARGV[1]) * 2
redis.call('PEXPIRE', KEYS[1], keep)
redis.call('PEXPIRE', KEYS[2], keep)
return ticket
"""

# KEYS: queue, ticket prefix · ARGV: ticket, lifetime ms → 1 when it is this ticket's turn
_TURN = """
local ahead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, other in ipairs(ahead) do
  if redis.call('EXISTS', KEYS[2] .. other) == 1 then
    redis.call('PEXPIRE', KEYS[2] .. ARGV[1], ARGV[2])
    return 0
  end
  redis.call('ZREM', KEYS[1], other)
end
return 1
"""

# KEYS: queue, ticket prefix · ARGV: ticket
_RELEASE = """
redis.call('DEL', KEYS[2] .. ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
"""


class AtomicRedisLockStore(LockStore):
    """Conversation locks on Redis that stay exclusive across processes and machines."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        config = dict(endpoint_config.kwargs) if endpoint_config else {}
        config.update(kwargs)
        host = (endpoint_config.url if endpoint_config else None) or config.pop("host", None)
        prefix = str(config.get("key_prefix") or "")
        self.key_prefix = (f"{prefix}:" if prefix.isalnum() else "") + "lock:"
        self.red = redis.Redis(host=host or "localhost", port=int(config.get("port", 6379)),
                               db=int(config.get("db", 1)), password=config.get("password"),
                               ssl=bool(config.get("use_ssl", False)),
                               socket_timeout=float(config.get("socket_timeout", 10)))
        self._issue = self.red.register_script(_ISSUE)
        self._turn = self.red.register_script(_TURN)
        self._release = self.red.register_script(_RELEASE)
        self._releasing: set[asyncio.Future] = set()
        super().__init__()

    def _keys(self, conversation_id: str) -> tuple[str, str, str]:
        base = self.key_prefix + conversation_id
        return f"{base}:counter", f"{base}:queue", f"{base}:ticket:"

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = POLL_SECONDS) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation until the block ends; waits for earlier tickets first."""
        counter, queue, tickets = self._keys(conversation_id)
        lifetime_ms = max(1, int(lock_lifetime * 1000))
        try:
            ticket = int(await self._issue(keys=[counter, queue, tickets], args=[lifetime_ms]))
        except redis.RedisError as error:
            raise LockError(f"Could not issue a ticket for '{conversation_id}': {error}")
        try:
            pause = min(wait_time_in_seconds, POLL_SECONDS)
            while not await self._turn(keys=[queue, tickets], args=[ticket, lifetime_ms]):
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.2)
            yield TicketLock(conversation_id)
        finally:
            try:
                await self._release(keys=[queue, tickets], args=[ticket])
            except redis.RedisError as error:
                # Left alone, the ticket would hold the conversation up until it expires (a
                # minute: Redis restarting with its data kept); released once Redis is back.
                logger.warning("could not release lock ticket %s, retrying: %s", ticket, error)
                later = asyncio.ensure_future(self._release_later(queue, tickets, ticket,
                                                                  lock_lifetime))
                self._releasing.add(later)
                later.add_done_callback(self._releasing.discard)

    async def _release_later(self, queue: str, tickets: str, ticket: int, within: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            await asyncio.sleep(RELEASE_RETRY_SECONDS)
            try:
                await self._release(keys=[queue, tickets], args=[ticket])
                return
            except redis.RedisError:
                continue
