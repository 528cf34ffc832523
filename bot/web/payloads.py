"""Button payloads and typed text in the web chat.

Rasa reads a message that starts with "/" as an intent (and entities) given directly,
skipping the language model: "/restart" wipes the conversation, '/inform{"phone": ...}' sets
a slot. The chat page sends a button's payload as the message text, so the relay has to tell
a button from typing. `OfferedButtons` remembers, per session, the payloads the bot itself
offered lately; a "/…" text that is not one of them is the resident's own writing and never
reaches Rasa as a command (`bot.channels.typed`).

The memory is this process's (bounded): after a restart an old button on an open page is
treated as typing and the resident is asked to say it in words, which is safe.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, deque

MAX_SESSIONS = 20_000
PER_SESSION = 40           # payloads of the last few bot turns

SLASH_REPLY = ("以“/”开头的内容在这里不能当作指令使用。请直接用文字告诉我您遇到的问题，"
               "比如“小区路灯坏了”，或者点选上面的按钮。")


class OfferedButtons:
    def __init__(self, max_sessions: int = MAX_SESSIONS, per_session: int = PER_SESSION) -> None:
        self.max_sessions = max_sessions
        self.per_session = per_session
        self._offered: OrderedDict[str, deque[str]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, session: str, messages: list[dict]) -> None:
        """Note the payloads of the bot's messages (dicts with "buttons") for this session."""
        payloads = [b["payload"].strip() for m in messages for b in (m.get("buttons") or [])
                    if isinstance(b, dict) and isinstance(b.get("payload"), str) and b["payload"].strip()]
        if not payloads:
            return
        with self._lock:
            kept = self._offered.pop(session, None) or deque(maxlen=self.per_session)
            kept.extend(payloads)
            self._offered[session] = kept
            while len(self._offered) > self.max_sessions:
                self._offered.popitem(last=False)

    def offered(self, session: str, text: str) -> bool:
        with self._lock:
            return text.strip() in (self._offered.get(session) or ())
