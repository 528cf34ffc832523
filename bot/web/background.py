"""Loops the app process runs under `bot run`: the notifier (outbox → residents' doors), the
watchdog, the hot-spot scan that raises alerts for the supervisors (预警, every
HOTSPOT_INTERVAL seconds), and the retry of messages kept while Rasa was away.

With several app replicas (`bot run --replicas N`) every replica runs them: the notifier and
the retry claim their rows (outbox: FOR UPDATE SKIP LOCKED and a lease; webchat_pending: a
compare-and-set lease), so a row goes out once; the watchdog, which escalates whatever is
overdue, and the hot-spot scan run only on the replica holding their Redis lease
(bot/leader.py).

The notifier runs here, in the app process, because in the single-machine default the web
chat push is in-process; with REDIS_URL any replica's notifier reaches any replica's page.
"""
from __future__ import annotations

import asyncio
import logging
import threading

from bot.cases.outbox import LogSender, Sender
from bot.channels.webchat import WebchatSender
from bot.container import Container
from bot.leader import Leader
from bot.web.hub import Hub
from bot.web.relay import Relay
from bot.web.store import ChatStore

log = logging.getLogger(__name__)


def senders(container: Container, store: ChatStore, hub: Hub) -> dict[str, Sender]:
    """webchat → the chat page; telegram → the Bot API when a token is set; others → the
    outbox's default (the log sender), which is where an SMS gateway's sender plugs in."""
    result: dict[str, Sender] = {"webchat": WebchatSender(store, hub)}
    if container.settings.telegram_bot_token:
        try:
            from bot.channels.telegram.sender import senders_from_settings
        except ImportError:
            log.warning("TELEGRAM_BOT_TOKEN is set but the Telegram sender is missing; "
                        "telegram messages go to the log")
            result["telegram"] = LogSender()
        else:
            result.update(senders_from_settings(container.settings))
    return result


class Background:
    def __init__(self, container: Container, store: ChatStore, hub: Hub, relay: Relay, *,
                 notifier_interval: float, watchdog_interval: float, retry_interval: float,
                 hotspot_interval: float = 0.0) -> None:
        self.container = container
        self.store, self.hub, self.relay = store, hub, relay
        self.notifier_interval = notifier_interval
        self.watchdog_interval = watchdog_interval
        self.retry_interval = retry_interval
        self.hotspot_interval = hotspot_interval
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._task: asyncio.Task | None = None
        # held across passes: the lease outlives the pause between two of them
        self.watchdog_leader = Leader(container.settings.redis_url, "watchdog",
                                      ttl=watchdog_interval * 2 + 10)
        self.hotspot_leader = Leader(container.settings.redis_url, "hotspots",
                                     ttl=hotspot_interval * 2 + 10)

    def start(self) -> None:
        outbox = self.container.outbox(senders(self.container, self.store, self.hub))
        self._spawn("notifier", self.notifier_interval, outbox.drain_once)

        def watchdog() -> None:
            from bot.cases import watchdog as dog

            if not self.watchdog_leader.held():
                return
            done = dog.run_once(self.container.cases)
            if done:
                log.info("watchdog escalated %s", " ".join(done))

        self._spawn("watchdog", self.watchdog_interval, watchdog)
        if self.hotspot_interval > 0:
            self._spawn("hotspots", self.hotspot_interval, self.hotspot_pass)
        self._task = asyncio.get_running_loop().create_task(self._retry_loop())

    def hotspot_pass(self) -> int:
        """One scan that records new hot spots and notes the supervisors; the hot spots seen
        (0 on a replica that does not hold the lease)."""
        from bot.cases import hotspots

        if not self.hotspot_leader.held():
            return 0
        found = hotspots.scan(self.container.cases, raise_alerts=True)
        if found:
            log.info("hot spots: %s", ", ".join(f"#{s.alert_id} ({s.residents})" for s in found))
        return len(found)

    def _spawn(self, name: str, interval: float, step) -> None:
        def loop() -> None:
            failures = 0
            while not self._stop.is_set():
                try:
                    step()
                    failures = 0
                except Exception:  # noqa: BLE001 - keep going; the log tells staff
                    failures += 1
                    log.exception("%s pass failed (%s in a row)", name, failures)
                self._stop.wait(interval if not failures else min(interval * 2 ** failures, 30))

        thread = threading.Thread(target=loop, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    async def _retry_loop(self) -> None:
        while not self._stop.is_set():
            try:
                await self.relay.retry_once()
            except Exception:  # noqa: BLE001
                log.exception("retrying kept webchat messages failed")
            await asyncio.sleep(self.retry_interval)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for thread in self._threads:
            await asyncio.to_thread(thread.join, 10)
        await asyncio.to_thread(self.watchdog_leader.release)
        await asyncio.to_thread(self.hotspot_leader.release)
