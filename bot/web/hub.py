"""Live push to open chat pages: one channel per session.

`InProcessHub` for the single-machine default (the notifier runs inside the app process);
`RedisHub` (pub/sub) when REDIS_URL is set, so a page connected to one app replica hears a
push published by the notifier of another. Pushes are stored in the inbox before they are
published, so a page that is not listening loses nothing: it reads the inbox on return.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

log = logging.getLogger(__name__)

CLOSED = None  # put in a subscriber's queue when the hub shuts down


class Hub(Protocol):
    def publish(self, session: str, item: dict) -> None: ...

    def subscribe(self, session: str):  # async context manager yielding an asyncio.Queue
        ...

    def close(self) -> None: ...


class InProcessHub:
    """Thread-safe: the notifier publishes from its thread into the app's event loop."""

    def __init__(self) -> None:
        self._subs: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = {}
        self._lock = threading.Lock()

    def publish(self, session: str, item: dict) -> None:
        with self._lock:
            targets = list(self._subs.get(session, ()))
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # that loop is gone; its subscriber is leaving
                pass

    @asynccontextmanager
    async def subscribe(self, session: str) -> AsyncIterator[asyncio.Queue]:
        entry = (asyncio.get_running_loop(), asyncio.Queue())
        with self._lock:
            self._subs.setdefault(session, set()).add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                subs = self._subs.get(session)
                if subs is not None:
                    subs.discard(entry)
                    if not subs:
                        del self._subs[session]

    def subscribers(self, session: str) -> int:
        with self._lock:
            return len(self._subs.get(session, ()))

    def close(self) -> None:
        with self._lock:
            targets = [entry for subs in self._subs.values() for entry in subs]
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, CLOSED)
            except RuntimeError:
                pass


class RedisHub:
    """Redis pub/sub on channel `webchat:<session>`; clients are made on first use."""

    def __init__(self, url: str, prefix: str = "webchat:") -> None:
        self.url = url
        self.prefix = prefix
        self._sync = None
        self._queues: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = set()
        self._lock = threading.Lock()

    def publish(self, session: str, item: dict) -> None:
        import redis

        if self._sync is None:
            self._sync = redis.Redis.from_url(self.url, socket_timeout=5)
        self._sync.publish(self.prefix + session, json.dumps(item, ensure_ascii=False))

    @asynccontextmanager
    async def subscribe(self, session: str) -> AsyncIterator[asyncio.Queue]:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url)
        pubsub = client.pubsub()
        await pubsub.subscribe(self.prefix + session)
        entry = (asyncio.get_running_loop(), asyncio.Queue())

        async def pump() -> None:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    entry[1].put_nowait(json.loads(message["data"]))

        task = asyncio.create_task(pump())
        with self._lock:
            self._queues.add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                self._queues.discard(entry)
            task.cancel()
            try:
                await pubsub.unsubscribe()
                await pubsub.aclose()
                await client.aclose()
            except Exception as exc:  # noqa: BLE001 - the page is gone either way
                log.debug("closing redis subscription failed: %s", exc)

    def close(self) -> None:
        with self._lock:
            targets = list(self._queues)
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, CLOSED)
            except RuntimeError:
                pass
        if self._sync is not None:
            self._sync.close()


async def listen(queue: asyncio.Queue, request, keepalive: float) -> AsyncIterator[dict | None]:
    """What an SSE answer sends from a subscription: its items until the hub closes or the
    client leaves, and None after each `keepalive` seconds of silence (send a comment then)."""
    while True:
        try:
            item = await asyncio.wait_for(queue.get(), keepalive)
        except asyncio.TimeoutError:
            if await request.is_disconnected():
                return
            yield None
            continue
        if item is CLOSED:
            return
        yield item


def make_hub(redis_url: str | None) -> Hub:
    return RedisHub(redis_url) if redis_url else InProcessHub()
