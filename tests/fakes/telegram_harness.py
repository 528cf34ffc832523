"""Runs the real Telegram adapter in a background event loop, for tests and the bench.

The adapter talks to a FakeTelegram server and to a Rasa stand-in over 127.0.0.1; the test
thread stays synchronous and waits on what the fakes record.
"""
from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import httpx

from bot.channels.telegram.runner import build_adapter, poll, serve_webhook
from bot.container import Container
from bot.settings import ROOT, Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_settings(tmp_path: Path, telegram_url: str, token: str, rasa_url: str, **env) -> Settings:
    return Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
                              "BOT_VAR_DIR": str(tmp_path / "var"),
                              "BOT_DATA_DIR": str(ROOT / "data"),
                              "TELEGRAM_BOT_TOKEN": token,
                              "TELEGRAM_API_BASE_URL": telegram_url,
                              "RASA_URL": rasa_url, **env})


class LiveAdapter:
    """`with LiveAdapter(container, mode="polling") as live:` … `live.adapter`, `live.call`."""

    def __init__(self, container: Container, *, mode: str = "polling", secret: str = "s3cret-Token",
                 gateway_timeout: float = 5.0, **config) -> None:
        self.container = container
        self.mode = mode
        self.secret = secret
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="adapter-loop",
                                        daemon=True)
        config = {"sweep_interval": 0.1, "retry_delays": (0.3,), **config}
        self.adapter = build_adapter(container.settings, container.engine,
                                     gateway_timeout=gateway_timeout, **config)
        self._stop: asyncio.Event | None = None
        self._main = None

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram/webhook"

    def call(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> "LiveAdapter":
        self._thread.start()

        async def begin():
            self._stop = asyncio.Event()
            await self.adapter.start()
            if self.mode == "polling":
                return asyncio.ensure_future(poll(self.adapter, self._stop, timeout=1))
            return asyncio.ensure_future(serve_webhook(
                self.adapter, self._stop, url=self.webhook_url, secret=self.secret,
                listen="127.0.0.1", port=self.port))

        self._main = self.call(begin())
        if self.mode == "webhook":     # wait until uvicorn listens
            for _ in range(500):
                try:
                    httpx.get(self.webhook_url + "/health", timeout=1)
                    break
                except httpx.HTTPError:
                    threading.Event().wait(0.01)
        return self

    def idle(self, timeout: float = 30.0) -> None:
        self.call(self.adapter.idle(), timeout)

    def stop(self) -> None:
        async def end():
            self._stop.set()
            await self._main
            await self.adapter.stop()

        try:
            self.call(end())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
            self.loop.close()

    def __enter__(self) -> "LiveAdapter":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
