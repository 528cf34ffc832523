"""The excerpt a case came from: the last lines of the chat or call transcript, checked."""
from __future__ import annotations

from collections.abc import Iterable

from bot.cases.errors import InvalidInput
from bot.cases.validation import clean_text

SPEAKERS = ("resident", "bot", "caller", "operator")
MAX_LINES = 40
MAX_LINE = 500


def clean_excerpt(lines: Iterable[dict] | None) -> tuple[dict, ...]:
    """The last MAX_LINES lines as {"who", "text"}, each text cleaned and cut to MAX_LINE
    characters; empty lines are dropped, anything malformed is refused."""
    kept: list[dict] = []
    for line in lines or ():
        if not isinstance(line, dict) or line.get("who") not in SPEAKERS:
            raise InvalidInput("excerpt line needs who in " + "/".join(SPEAKERS),
                               "来源对话的格式不正确：每一行需要注明说话人（群众、智能助手、来电人或话务员）")
        text = line.get("text")
        if text is not None and not isinstance(text, str):
            raise InvalidInput("excerpt text is not a string", "来源对话的内容格式不正确")
        text = clean_text((text or "")[:MAX_LINE * 2], field="excerpt", limit=MAX_LINE * 2,
                          required=False)
        if text:
            kept.append({"who": line["who"], "text": text[:MAX_LINE]})
    return tuple(kept[-MAX_LINES:])
