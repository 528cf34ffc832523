"""TelegramSender: the outbox `Sender` for residents who came through Telegram.

Synchronous, like the outbox: one sendMessage per chunk (texts over 4096 characters are
split) to the chat id kept as the case's address. A 429 is waited out when Telegram asks for
at most `max_wait` seconds; a refused connection or a 5xx (the message did not get through)
is tried again after a short pause; any other failure raises, so the outbox retries and
finally dead-letters the message where staff see it (a hand-off's staff member is told). Errors never carry the token-bearing URL.
A resolved notice (it ends with the rating question) carries a one-time reply keyboard with
the two answers, which come back as the resident's own words.
"""
from __future__ import annotations

import time

import httpx

from bot.cases.messages import RATING_QUESTION, RATING_REPLIES
from bot.channels.telegram.render import split_text
from bot.channels.telegram.urls import api_root
from bot.settings import Settings


TRANSIENT_PAUSES = (0.5, 1.0)        # seconds before the second and third try
MAX_FLOOD_WAITS = 2                  # 429s waited out before giving up
RATING_KEYBOARD = {"keyboard": [[{"text": reply} for reply in RATING_REPLIES]],
                   "one_time_keyboard": True, "resize_keyboard": True}


class TelegramSendError(RuntimeError):
    pass


class TelegramSender:
    def __init__(self, token: str, base_url: str | None = None, *, timeout: float = 10.0,
                 max_wait: float = 30.0, client: httpx.Client | None = None) -> None:
        self._url = f"{api_root(base_url)}/bot{token}/sendMessage"
        self.max_wait = max_wait
        self._client = client or httpx.Client(timeout=timeout)

    @classmethod
    def from_settings(cls, settings: Settings) -> "TelegramSender":
        if not settings.telegram_bot_token:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        return cls(settings.telegram_bot_token, settings.telegram_api_base_url)

    def send(self, address: str | None, text: str, *, case_number: str) -> None:
        try:
            chat_id = int(str(address).strip())
        except ValueError:
            raise TelegramSendError(f"not a Telegram chat id: {address!r}") from None
        chunks = split_text(text)
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            self._send_message(chat_id, chunk, RATING_KEYBOARD if last and
                               text.rstrip().endswith(RATING_QUESTION) else None)

    def _send_message(self, chat_id: int, text: str, markup: dict | None = None) -> None:
        body = {"chat_id": chat_id, "text": text, **({"reply_markup": markup} if markup else {})}
        pauses, floods = list(TRANSIENT_PAUSES), 0
        while True:
            try:
                response = self._client.post(self._url, json=body)
            except httpx.ConnectError as exc:         # never sent: safe to send again
                if pauses:
                    time.sleep(pauses.pop(0))
                    continue
                raise TelegramSendError(f"Telegram unreachable: {type(exc).__name__}") from None
            except httpx.HTTPError as exc:            # may have been sent: the outbox decides
                raise TelegramSendError(f"Telegram unreachable: {type(exc).__name__}") from None
            try:
                data = response.json()
            except ValueError:
                data = None
            if not isinstance(data, dict):
                data = {"error_code": response.status_code, "description": "not a Bot API answer"}
            if data.get("ok"):
                return
            code = data.get("error_code")
            retry_after = (data.get("parameters") or {}).get("retry_after")
            if code == 429 and retry_after is not None and retry_after <= self.max_wait:
                floods += 1
                if floods == MAX_FLOOD_WAITS + 1:
                    raise TelegramSendError("Telegram kept answering 429 Too Many Requests")
                time.sleep(retry_after)
                continue
            if isinstance(code, int) and code >= 500 and pauses:
                time.sleep(pauses.pop(0))
                continue
            raise TelegramSendError(f"Telegram {code}: {data.get('description')}")

    def close(self) -> None:
        self._client.close()


def senders_from_settings(settings: Settings) -> dict:
    """The outbox senders this channel contributes: {'telegram': TelegramSender} or {}."""
    return {"telegram": TelegramSender.from_settings(settings)} if settings.telegram_bot_token else {}
