"""What a resident types must never drive the dialogue directly.

Rasa strips a message and reads one that starts with "/" as an intent given directly,
skipping the language model: "/restart" wipes the conversation, '/inform{"phone": ...}'
sets a slot, "/EXTERNAL_…" fakes a system event. Buttons the bot offers carry such payloads
(the channels pass those on through their own paths); text a resident wrote goes through
`resident_words` first, in every channel.
"""
from __future__ import annotations

import re

# What Rasa would take as an intent command: "/restart", "/ inform{...}", "//x.y".
_COMMAND = re.compile(r"[\s/]*/\s*[A-Za-z_][\w.:-]*\s*(?:\{.*\}|\[.*\])?\s*", re.DOTALL)
_LEADING = re.compile(r"^[\s/]+")


def resident_words(text: str) -> str | None:
    """The text to hand the dialogue: unchanged unless it starts with "/"; then the words
    after the slashes, or None when what is there is only a command (or nothing) and the
    resident should get a reply of the channel's own instead."""
    if not text.lstrip().startswith("/"):
        return text
    if _COMMAND.fullmatch(text):
        return None
    return _LEADING.sub("", text) or None
