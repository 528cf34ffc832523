"""Live case changes for the console's SSE stream: one cheap poller per app process.

Cases change in many places (the chat and Telegram dialogue, the watchdog, the CLI, another app
replica, the console itself), and every change is one row in `events`. So instead of publishing
from each of them, the poller reads `events` with an id above the last one it saw, every
`interval` seconds, and publishes `{"id", "number", "action", "state"}` on the in-process hub
channel `staff:all`. It runs only while at least one console stream is open, and its first pass
only learns where the table ends (a new stream is not flooded with history). Every replica polls
for its own streams, so it needs no Redis and never publishes a change twice to one page.
"""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from contextlib import asynccontextmanager

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.cases.models import CaseRow, EventRow
from bot.web.hub import InProcessHub

log = logging.getLogger(__name__)

CHANNEL = "staff:all"
BATCH = 500
CACHED_VIEWS = 256


class CaseFeed:
    def __init__(self, engine: Engine, *, interval: float = 1.0) -> None:
        self.engine = engine
        self.interval = interval
        self.hub = InProcessHub()
        self._last: int | None = None
        self._listeners = 0
        self._task: asyncio.Task | None = None
        self._views: OrderedDict[int, object] = OrderedDict()

    def view(self, item: dict, load):
        """The case of a published item as `load(number)` gives it, loaded once per item for
        all open streams (each checks its own staff member's view of it)."""
        found = self._views.get(item["id"])
        if found is None:
            found = self._views[item["id"]] = load(item["number"])
            while len(self._views) > CACHED_VIEWS:
                self._views.popitem(last=False)
        return found

    def poll_once(self) -> list[dict]:
        """Publish the events written since the last pass; returns what was published."""
        with self.engine.connect() as conn:
            if self._last is None:
                self._last = conn.scalar(select(func.max(EventRow.id))) or 0
                return []
            rows = conn.execute(
                select(EventRow.id, CaseRow.number, EventRow.action, EventRow.to_state)
                .join(CaseRow, CaseRow.id == EventRow.case_id)
                .where(EventRow.id > self._last).order_by(EventRow.id).limit(BATCH)).all()
        items = [{"id": r.id, "number": r.number, "action": r.action, "state": r.to_state}
                 for r in rows]
        if items:
            self._last = items[-1]["id"]
        for item in items:
            self.hub.publish(CHANNEL, item)
        return items

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.poll_once)
            except SQLAlchemyError as exc:      # the stream stays open; the next pass retries
                log.warning("console feed pass failed: %s", str(exc).splitlines()[0][:160])
            await asyncio.sleep(self.interval)

    @asynccontextmanager
    async def listen(self):
        """Subscribe to `staff:all`, starting the poller for the first listener."""
        async with self.hub.subscribe(CHANNEL) as queue:
            self._listeners += 1
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._run())
            try:
                yield queue
            finally:
                self._listeners -= 1
                if self._listeners == 0 and self._task is not None:
                    self._task.cancel()
                    self._task = None
                    self._last = None

    def close(self) -> None:
        self.hub.close()
