"""Talks to the Rasa server's REST channel; the one place channels reach the dialogue."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

log = logging.getLogger(__name__)

UNAVAILABLE_REPLY = "抱歉，系统正忙，您的话我们已经记下了，请稍后再试一次。"


class GatewayDown(RuntimeError):
    """Rasa did not answer (down, slow or broken). `retry_later`: Rasa itself said the turn
    could not be handled now (503: the action server or Redis was away; the turn was not
    saved), so the message is sound and only waits."""

    def __init__(self, message: str, *, retry_later: bool = False) -> None:
        super().__init__(message)
        self.retry_later = retry_later


@dataclass
class BotMessage:
    text: str | None = None
    buttons: list[dict] = field(default_factory=list)   # [{"title": ..., "payload": ...}]
    custom: dict | None = None                          # e.g. {"case": {...}} for case cards
    image: str | None = None

    @classmethod
    def from_rasa(cls, raw: dict) -> "BotMessage":
        return cls(text=raw.get("text"), buttons=list(raw.get("buttons") or []),
                   custom=raw.get("custom"), image=raw.get("image"))


class RasaGateway:
    """POST /webhooks/rest/webhook with sender id (e.g. 'telegram:12345', 'webchat:<uuid>')."""

    def __init__(self, base_url: str, *, timeout: float = 20.0,
                 client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = client
        self.ready = False          # Rasa has answered /status (model loaded) at least once

    async def send(self, sender: str, text: str, metadata: dict | None = None) -> list[BotMessage]:
        payload = {"sender": sender, "message": text, "metadata": metadata or {}}
        if self._client is None:
            # One pooled client for the gateway's life: a client per call costs ~30 ms of CPU.
            self._client = httpx.AsyncClient(timeout=self.timeout)
        try:
            response = await self._client.post(f"{self.base_url}/webhooks/rest/webhook", json=payload)
            response.raise_for_status()
            return [BotMessage.from_rasa(item) for item in response.json()]
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("rasa gateway failed for %s: %s", sender.split(":")[0], exc)
            later = isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code == 503
            raise GatewayDown(str(exc), retry_later=later) from exc

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def wait_ready(self, timeout: float, interval: float = 0.25) -> bool:
        """True once Rasa has loaded its model (its /status answers 200), waiting at most
        `timeout` seconds; after the first success it returns at once."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while not self.ready:
            if await self.healthy():
                self.ready = True
            elif time.monotonic() >= deadline:
                return False
            else:
                await asyncio.sleep(interval)
        return True

    async def healthy(self) -> bool:
        try:
            async with httpx.AsyncClient(timeout=3) as client:
                response = await client.get(f"{self.base_url}/status")
                return response.status_code == 200
        except httpx.HTTPError:
            return False


async def tracker_replies(rasa_url: str, sender: str,
                          matches: Callable[[dict], bool]) -> list[BotMessage] | None:
    """The bot's replies to the user message whose metadata `matches`, when Rasa's tracker has
    it (a turn that timed out on our side but was handled); None when it has not, so the
    message may be sent again. Raises GatewayDown when the tracker cannot be read."""
    url = f"{rasa_url.rstrip('/')}/conversations/{sender}/tracker"
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        raise GatewayDown(f"tracker: {exc}") from exc
    if response.status_code != 200:
        return None
    try:
        events = response.json().get("events") or []
    except ValueError:
        return None
    return replies_after(events, matches)


def replies_after(events: list[dict], matches: Callable[[dict], bool]) -> list[BotMessage] | None:
    found = False
    replies: list[BotMessage] = []
    for event in events:
        kind = event.get("event")
        if not found:
            found = kind == "user" and matches(event.get("metadata") or {})
            continue
        if kind == "user":
            break
        if kind == "bot":
            data = event.get("data") or {}
            replies.append(BotMessage(text=event.get("text"), buttons=list(data.get("buttons") or []),
                                      custom=data.get("custom"), image=data.get("image")))
    return replies if found else None
