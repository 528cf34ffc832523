"""The conversation a case came from, as excerpt lines for the case service."""
from __future__ import annotations

from actions.conversation import message_key_of

SPEAKER = {"user": "resident", "bot": "bot"}


def conversation_excerpt(tracker, limit: int = 20) -> tuple[dict, ...]:
    """The resident's and the bot's texts since the report began (the user turn whose key
    is the `report_key` slot), at most the last `limit` of them."""
    events = list(tracker.events or ())
    start = tracker.get_slot("report_key")
    begun = [i for i, e in enumerate(events)
             if start and e.get("event") == "user" and message_key_of(e) == start]
    if begun:
        events = events[begun[-1]:]
    lines = [{"who": SPEAKER[e["event"]], "text": e["text"]} for e in events
             if e.get("event") in SPEAKER and _readable(e.get("text"))]
    return tuple(lines[-limit:])


def _readable(text) -> bool:
    """A text the case service keeps (binary input would make it refuse the whole case)."""
    return isinstance(text, str) and bool(text.strip()) and "\x00" not in text \
        and not any("\ud800" <= ch <= "\udfff" for ch in text)
