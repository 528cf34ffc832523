"""Dialogue replies as Telegram messages: text split at 4096, buttons as inline keyboards."""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telegram import InlineKeyboardMarkup

MAX_TEXT = 4096            # Telegram counts UTF-16 code units
MAX_CALLBACK_DATA = 64     # bytes
_BREAKS = ("\n\n", "\n", "。", "！", "？", "；", "!", "?", ";", "，", ",", " ")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefix_within(text: str, limit: int) -> int:
    """Largest number of characters of `text` that fit in `limit` UTF-16 units."""
    if utf16_len(text) <= limit:
        return len(text)
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split into chunks of at most `limit` UTF-16 units, preferring paragraph, line and
    sentence ends; never splits inside a character. Empty text gives no chunks."""
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        cut = _prefix_within(rest, limit)
        if cut < len(rest):
            window = rest[:cut]
            best = max((window.rfind(mark) + len(mark) for mark in _BREAKS
                        if window.rfind(mark) > 0), default=-1)
            if best > cut // 2:
                cut = best
        piece, rest = rest[:cut].strip(), rest[cut:].strip()
        if piece:
            chunks.append(piece)
    return chunks


class PayloadBook:
    """Button payloads longer than Telegram's 64-byte callback_data travel as a short token.

    The table is in memory (bounded); after a restart an old long-payload button answers
    politely that it has expired. Short payloads (most) are sent as they are.
    """

    PREFIX = "~p:"

    def __init__(self, capacity: int = 20000) -> None:
        self.capacity = capacity
        self._book: OrderedDict[str, str] = OrderedDict()

    def encode(self, payload: str) -> str:
        if len(payload.encode("utf-8")) <= MAX_CALLBACK_DATA and not payload.startswith(self.PREFIX):
            return payload
        token = self.PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]
        self._book[token] = payload
        self._book.move_to_end(token)
        while len(self._book) > self.capacity:
            self._book.popitem(last=False)
        return token

    def decode(self, data: str) -> str | None:
        if not data.startswith(self.PREFIX):
            return data
        return self._book.get(data)


def keyboard(buttons: list[dict], book: PayloadBook) -> "InlineKeyboardMarkup | None":
    """Rasa buttons [{"title", "payload"}] as an inline keyboard: short titles two a row."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    items = [InlineKeyboardButton(str(b.get("title") or b.get("payload"))[:64],
                                  callback_data=book.encode(str(b.get("payload") or b.get("title"))))
             for b in buttons if b.get("title") or b.get("payload")]
    if not items:
        return None
    per_row = 2 if all(utf16_len(i.text) <= 8 for i in items) else 1
    return InlineKeyboardMarkup([items[i:i + per_row] for i in range(0, len(items), per_row)])


def button_title(markup: "InlineKeyboardMarkup | None", data: str) -> str | None:
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
