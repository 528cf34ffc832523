"""Builds the Telegram adapter from settings and runs it: long polling or a webhook."""
from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import replace
from urllib.parse import urlsplit

from bot.channels.rasa_gateway import RasaGateway
from bot.channels.telegram.adapter import (ALLOWED_UPDATES, AdapterConfig, MalformedUpdate,
                                          TelegramAdapter)
from bot.channels.telegram.store import UpdateStore
from bot.channels.telegram.urls import api_root
from bot.settings import Settings

log = logging.getLogger(__name__)


def build_application(token: str, base_url: str | None = None, *, max_retries: int = 3):
    from telegram.ext import AIORateLimiter, ApplicationBuilder

    root = api_root(base_url)
    return (ApplicationBuilder().token(token)
            .base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")
            .rate_limiter(AIORateLimiter(max_retries=max_retries))
            .connection_pool_size(64).pool_timeout(10)
            .get_updates_read_timeout(45)
            .updater(None)          # updates come in through TelegramAdapter.accept
            .build())


def build_adapter(settings: Settings, engine, *, gateway: RasaGateway | None = None,
                  gateway_timeout: float = 15.0, **config) -> TelegramAdapter:
    """The adapter with its own Bot API client and, unless given, a Rasa gateway that keeps
    one HTTP client (a new client per message costs ~30 ms of CPU for its TLS context, on
    the event loop that also answers the webhook)."""
    import httpx

    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    application = build_application(settings.telegram_bot_token, settings.telegram_api_base_url)
    adapter_config = replace(AdapterConfig(attachments_dir=settings.var_dir / "attachments"), **config)
    closers = []
    if gateway is None:
        client = httpx.AsyncClient(timeout=gateway_timeout,
                                   limits=httpx.Limits(max_connections=adapter_config.max_concurrency))
        gateway = RasaGateway(settings.rasa_url, timeout=gateway_timeout, client=client)
        closers.append(client.aclose)
    from bot.channels.handoff import HandoffDoor

    return TelegramAdapter(application, gateway, UpdateStore(engine), adapter_config,
                           closers=closers, handoffs=HandoffDoor.for_settings(settings, engine))


async def poll(adapter: TelegramAdapter, stop: asyncio.Event, *, timeout: int = 30) -> None:
    """Long polling. An update is stored before the next getUpdates confirms it to Telegram,
    so a crash between the two only causes a redelivery, which the store ignores."""
    import warnings

    from telegram.error import Conflict, InvalidToken, TelegramError
    from telegram.warnings import PTBUserWarning

    # Raw getUpdates on purpose: each update is stored as Telegram sent it, and one that the
    # library cannot parse is refused alone instead of failing the whole batch.
    warnings.filterwarnings("ignore", message=".*Bot.getUpdates.*", category=PTBUserWarning)
    bot = adapter.bot
    await bot.delete_webhook()
    offset, backoff = 0, 1.0
    while not stop.is_set():
        try:
            getter = asyncio.ensure_future(bot.do_api_request(
                "getUpdates", api_kwargs={"offset": offset, "timeout": timeout,
                                          "allowed_updates": ALLOWED_UPDATES},
                read_timeout=timeout + 15))
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if getter not in done:
                getter.cancel()
                break
            updates = getter.result()
        except InvalidToken:
            raise
        except (Conflict, TelegramError) as exc:
            log.warning("telegram getUpdates failed: %s; again in %.0fs", exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 60)
            continue
        backoff = 1.0
        for data in updates or []:
            update_id = data.get("update_id") if isinstance(data, dict) else None
            try:
                await adapter.accept(data)
            except MalformedUpdate as exc:
                log.warning("telegram: malformed update %s skipped: %s", update_id, exc)
            except Exception:  # noqa: BLE001 - not stored, so not confirmed: fetched again
                log.exception("telegram: update %s could not be stored; retrying", update_id)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
                break
            if isinstance(update_id, int):
                offset = max(offset, update_id + 1)


async def serve_webhook(adapter: TelegramAdapter, stop: asyncio.Event, *, url: str,
                        secret: str | None, listen: str, port: int) -> None:
    import uvicorn

    from bot.channels.telegram.webhook import webhook_app

    secret = secret or secrets.token_urlsafe(32)
    path = urlsplit(url).path or "/telegram/webhook"
    app = webhook_app(adapter, secret, path)
    await adapter.bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES,
                                  max_connections=40)
    server = uvicorn.Server(uvicorn.Config(app, host=listen, port=port, lifespan="off",
                                           log_level="warning", access_log=False))
    serving = asyncio.ensure_future(server.serve())
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({serving, stopper}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopper.cancel()
    await serving


def _stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM (supervisors) and SIGINT (Ctrl-C) end the loop gracefully: the updates being
    handled finish or stay pending for the next start. Only possible in the main thread."""
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            pass


async def wait_for_dialogue(gateway: RasaGateway, stop: asyncio.Event) -> bool:
    """Until Rasa answers /status: no update is fetched (polling) and no webhook is set, so
    Telegram keeps what residents send meanwhile and delivers it once the dialogue can answer
    (instead of residents being told the system is busy). False when stopped first."""
    waited = False
    while not stop.is_set():
        if await gateway.wait_ready(5.0):
            if waited:
                log.info("telegram: rasa is ready; taking updates")
            return True
        if not waited:
            log.info("telegram: waiting for rasa to load its model before taking updates")
            waited = True
    return False


async def run(settings: Settings, engine, *, webhook_url: str | None = None,
              secret: str | None = None, listen: str = "127.0.0.1", port: int = 8443,
              stop: asyncio.Event | None = None, ready=None) -> None:
    """`bot telegram`: wait until Rasa has loaded its model, start the adapter, then poll or
    serve the webhook until stopped."""
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    adapter = build_adapter(settings, engine)
    if not await wait_for_dialogue(adapter.gateway, stop):
        return
    await adapter.start()
    if ready is not None:
        ready(adapter)
    try:
        if webhook_url:
            await serve_webhook(adapter, stop, url=webhook_url, secret=secret, listen=listen,
                                port=port)
        else:
            await poll(adapter, stop)
    finally:
        await adapter.stop()
