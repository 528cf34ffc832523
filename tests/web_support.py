"""Helpers for the web chat tests: a live uvicorn server in a thread, and a stand-in for
Rasa's REST channel that answers like the real dialogue (text, buttons, case card)."""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.cases import OpenCase

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def live_server(app, port: int | None = None):
    """Serve an ASGI app on 127.0.0.1 in a thread; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            timeout_graceful_shutdown=2, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        chat = getattr(getattr(app, "state", None), "chat", None)
        if chat is not None:
            chat.hub.close()        # end open SSE streams, as `bot run` does on shutdown
        server.should_exit = True
        thread.join(10)


class FakeRasa:
    """Answers /webhooks/rest/webhook like the dialogue: asks, reads back with buttons, and on
    /affirm opens a real case through the case service with channel/address from the sender."""

    def __init__(self, cases) -> None:
        self.cases = cases
        self.mode = "up"            # up | down | slow
        self.slow_seconds = 3.0
        self.received: list[dict] = []
        self.drafts: dict[str, str] = {}
        self.tracker: dict[str, list[dict]] = {}

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.get("/status")
        async def status():
            if self.mode == "down":
                return JSONResponse({"error": "down"}, status_code=503)
            return {"model_file": "stand-in"}

        @api.get("/health")
        async def health():
            return {"status": "ok"}

        @api.get("/conversations/{sender}/tracker")
        async def tracker(sender: str):
            if self.mode == "down":
                return JSONResponse({"error": "down"}, status_code=503)
            return {"sender_id": sender, "events": self.tracker.get(sender, [])}

        @api.post("/webhooks/rest/webhook")
        async def webhook(request: Request):
            import asyncio

            body = await request.json()
            if self.mode == "down":
                return JSONResponse({"error": "down"}, status_code=503)
            replies = await asyncio.to_thread(self.answer, body["sender"], body["message"])
            self.received.append(body)
            events = self.tracker.setdefault(body["sender"], [])
            events.append({"event": "user", "text": body["message"],
                           "metadata": body.get("metadata") or {}})
            events.extend({"event": "bot", "text": r.get("text"),
                           "data": {"buttons": r.get("buttons"), "custom": r.get("custom")}}
                          for r in replies)
            if self.mode == "slow":
                await asyncio.sleep(self.slow_seconds)
            return replies

        return api

    def answer(self, sender: str, text: str) -> list[dict]:
        channel, _, address = sender.partition(":")
        if text in ("我要反映问题", "/report"):
            return [{"text": "好的，请说说您遇到了什么问题，在什么地方？"}]
        if text == "/affirm" and sender in self.drafts:
            view = self.cases.open_case(OpenCase(
                text=self.drafts.pop(sender), category="env.noise", area="S1P1G1",
                channel=channel, address=address, actor="chat", inline_ack=True))
            return [{"text": f"已为您登记，编号 {view.number}。办理进展会在这里通知您。",
                     "custom": {"case": {"number": view.number, "state": view.state}}}]
        if text == "请显示标记":   # a reply carrying markup must show as text, never run
            return [{"text": "<img src=x onerror=\"window.pwned=1\"><b>粗体</b>"}]
        if text == "/deny":
            self.drafts.pop(sender, None)
            return [{"text": "好的，请重新描述一下您的问题。"}]
        if len(text) >= 8:
            self.drafts[sender] = text
            return [{"text": f"我帮您整理一下：\n问题：{text}\n类别：环境保护 · 噪声扰民\n确认提交吗？",
                     "buttons": [{"title": "确认提交", "payload": "/affirm"},
                                 {"title": "需要修改", "payload": "/deny"}]}]
        return [{"text": "我没太明白，您可以直接说说遇到的问题。",
                 "buttons": [{"title": "我要反映问题", "payload": "/report"}]}]


@contextmanager
def stand_in_site(tmp_path):
    """The app (background tasks on) with its own SQLite store and a FakeRasa, both served on
    127.0.0.1; yields (container, fake, app base URL)."""
    from bot.web.app import create_app
    from tests.conftest import make_container

    port = free_port()
    rasa_url = f"http://127.0.0.1:{port}"
    container = make_container(f"sqlite:///{tmp_path / 'cases.db'}", tmp_path, RASA_URL=rasa_url)
    fake = FakeRasa(container.cases)
    app = create_app(container, web=web_settings(rasa_url), background=True)
    try:
        with live_server(fake.app(), port), live_server(app) as base:
            yield container, fake, base
    finally:
        container.engine.dispose()


def web_settings(rasa_or_actions_url: str, **overrides):
    from bot.web.config import WebSettings

    values = dict(secret=b"test-secret", action_url=rasa_or_actions_url, rasa_timeout=2.0,
                  notifier_interval=0.1, watchdog_interval=3600, retry_interval=0.2)
    values.update(overrides)
    return WebSettings(**values)


def redis_url_or_skip() -> str:
    """TEST_REDIS_URL (scripts/test.sh sets it); skipped without it, but required in CI."""
    import os

    import pytest

    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but TEST_REDIS_URL is not set: Redis tests are required")
        pytest.skip("Redis not available (set TEST_REDIS_URL or run scripts/test.sh)")
    return url


def chromium_or_skip():
    """Headless Chromium from Debian (scripts/system_deps.sh installs it); required in CI."""
    import os
    from pathlib import Path

    import pytest

    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} missing: run scripts/system_deps.sh as root (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        import playwright  # noqa: F401
    except ImportError:
        reason = "playwright (Python package) not installed: pip install -r requirements/dev.txt"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    chromium_or_skip()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def phone(b):
    """A phone-sized browser context (390x844, touch, Chinese locale)."""
    return b.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                         is_mobile=True, has_touch=True, locale="zh-CN",
                         timezone_id="Asia/Shanghai")


@contextmanager
def product(tmp_path, timeout: float = 300, root=None, extra_env: dict | None = None):
    """`bot run` in a subprocess on free ports with its own SQLite store; yields
    (app base URL, env, output lines) once it printed its URLs, and SIGTERMs it after.
    Callers skip first when the model is missing (`bot.run.model_path()`). `root`: another
    checkout to run from (the load bench's before/after); `extra_env`: more settings."""
    import os
    import signal
    import subprocess
    import sys

    from bot.settings import ROOT

    rasa_port, action_port, app_port = free_port(), free_port(), free_port()
    env = {**os.environ, "BOT_VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'cases.db'}",
           "RASA_URL": f"http://127.0.0.1:{rasa_port}", "ACTION_PORT": str(action_port),
           "APP_PORT": str(app_port), "TELEGRAM_BOT_TOKEN": "", **(extra_env or {})}
    bot = [sys.executable, "-m", "bot.cli"]
    # no `bot db upgrade` first: `bot run` brings a new database to the newest schema itself
    proc = subprocess.Popen([*bot, "run"], cwd=root or ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{app_port}"
    state = {"ports": (rasa_port, action_port, app_port), "proc": proc, "code": None}
    try:
        deadline = time.monotonic() + timeout
        while not any(f"{base}/chat" in line for line in output):
            if proc.poll() is not None:
                raise AssertionError("bot run exited early:\n" + "".join(output))
            if time.monotonic() > deadline:
                raise AssertionError(f"not ready in {timeout:g} s:\n" + "".join(output))
            time.sleep(0.5)
        yield base, env, output, state
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            state["code"] = proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            state["code"] = proc.wait(10)
        reader.join(5)
