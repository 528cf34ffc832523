"""Store calls off the event loop, all on ONE thread, new updates first.

SQLite admits one writer at a time, our engine begins every transaction (reads included)
with BEGIN IMMEDIATE, and a connection that finds the lock taken sleeps in coarse steps
(1, 2, 5 … 100 ms). Several threads of this process competing for the lock would therefore
make the webhook wait hundreds of milliseconds when busy. One thread never competes with
itself; its queue is ordered so that storing a new update (the webhook waits on it) goes
before the bookkeeping of updates being handled. Each call is a millisecond or less.
"""
from __future__ import annotations

import asyncio
import functools
import itertools
import queue
import threading
from concurrent.futures import Future

INTAKE, WORK = 0, 1


class StoreThread:
    def __init__(self) -> None:
        self._jobs: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def run(self, fn, *args, priority: int = WORK, **kwargs):
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="telegram-store",
                                                daemon=True)
                self._thread.start()
        future: Future = Future()
        self._jobs.put((priority, next(self._order), functools.partial(fn, *args, **kwargs), future))
        return await asyncio.wrap_future(future)

    def _work(self) -> None:
        while True:
            _, _, job, future = self._jobs.get()
            if job is None:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                future.set_exception(exc)

    def shutdown(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._jobs.put((WORK + 1, next(self._order), None, None))
                self._thread.join(timeout=10)
                self._thread = None
