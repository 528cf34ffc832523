"""Reading a conversation: who is talking, what they just said, what the NLU made of it."""
from __future__ import annotations

import hashlib
import re
import unicodedata

from rasa_sdk import Tracker

from bot.cases.numbering import is_case_number

MAX_KEEP = 4000          # what we keep of one message (the case store takes 5000)
_CASE_LIKE = re.compile(r"[A-Za-z]{0,4}\d{6,}[-－—_ ]?\d*")


def sender(tracker: Tracker) -> tuple[str, str]:
    """(channel, address) from a sender id `<channel>:<address>`, e.g. `telegram:12345`."""
    sender_id = tracker.sender_id or ""
    channel, sep, address = sender_id.partition(":")
    if not sep or not channel or not address:
        return "chat", sender_id or "unknown"
    return channel, address


_TAG = re.compile(r"<[^<>]{0,200}>")


def clean(text: str | None, limit: int | None = MAX_KEEP) -> str:
    """What a resident typed, without control characters, HTML tags or runs of blanks; cut at
    `limit` (None: whole, for checking a field's length before it is accepted)."""
    text = _TAG.sub("", str(text or ""))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = re.sub(r"\s+", " ", text).strip()
    return text if limit is None else text[:limit]


def has_chinese(text: str | None) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text or ""))


def latest_text(tracker: Tracker, limit: int | None = MAX_KEEP) -> str:
    """The resident's last message, cleaned; button payloads (/intent{...}) give ''."""
    text = (tracker.latest_message or {}).get("text") or ""
    return "" if text.startswith("/") else clean(text, limit)


def latest_intent(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""


def entity(tracker: Tracker, name: str) -> str | None:
    for item in (tracker.latest_message or {}).get("entities") or []:
        if item.get("entity") == name and item.get("value"):
            return str(item["value"]).strip()
    return None


def ranking(tracker: Tracker, known: set[str] | None = None) -> list[tuple[str, float]]:
    """Category codes of the latest message (the NLU's `report_category`), best first."""
    category = (tracker.latest_message or {}).get("report_category") or {}
    ranked = []
    for item in category.get("ranking") or []:
        code = item.get("code") or ""
        if code and (known is None or code in known):
            ranked.append((code, float(item.get("confidence") or 0.0)))
    return ranked


def message_key(tracker: Tracker) -> str:
    """A stable id of the latest message: the channel's message id, Rasa's, or a text hash."""
    return message_key_of(tracker.latest_message or {})


def message_key_of(message: dict) -> str:
    """The key of one message (the latest message or a tracker's user event)."""
    metadata = message.get("metadata") or {}
    raw = metadata.get("message_id") or message.get("message_id")
    if not raw:
        raw = hashlib.sha1((message.get("text") or "").encode("utf-8")).hexdigest()[:16]
    return str(raw)[:48]


def idempotency_key(tracker: Tracker, turn_key: str) -> str:
    key = f"{tracker.sender_id}:{turn_key}"
    if len(key) > 128:
        key = "h:" + hashlib.sha1(key.encode("utf-8")).hexdigest()
    return key


def case_number_in(tracker: Tracker, use_slot: bool = True) -> tuple[str | None, bool]:
    """(number, malformed): the case number in the latest message, else (optionally) the slot.

    `malformed` is True when the message holds something that looks like a case number
    but is not one (wrong length, missing dash ...).
    """
    number = entity(tracker, "case_number")
    if number:
        return number.upper(), False
    text = unicodedata.normalize("NFKC", latest_text(tracker))
    for candidate in _CASE_LIKE.findall(text):
        candidate = candidate.strip().upper().replace("_", "-").replace(" ", "-")
        if is_case_number(candidate):
            return candidate, False
        if not re.fullmatch(r"1[3-9]\d{9}", candidate):   # a phone number is not a case number
            return None, True
    slot = tracker.get_slot("case_number") if use_slot else None
    return (slot, False) if slot else (None, False)


def informative(text: str | None) -> bool:
    """Whether a description says what the problem is ("停水了"), not just that there is one
    ("我要投诉", "有个事想反映一下")."""
    if not text or len(re.findall(r"[\u4e00-\u9fff]", text)) < 2:
        return False          # emoji, Latin letters or digits alone do not say what is wrong
    core = re.sub(r"[^\w]", "", text)
    return len(core) >= 3 and len(_OPENER_WORDS.sub("", core)) >= 2


# What "我要投诉 / 有个事想反映一下 / 我要提个诉求" are made of: with these removed, a real
# description still says something ("我要投诉物业" keeps 物业).
_OPENER_WORDS = re.compile(
    r"你好|您好|喂|请问|麻烦|你们|政府|领导|我们|我家|俺家|我|俺|咱|要|想|来|找|跟|向|给|帮|"
    r"投诉|头诉|投述|反映|反应|反馈|举报|实名|报告|报修|报个|告状|咨询|求助|登记|提个|提|"
    r"有个|有件|有|一个|一件|一下|一点|个|件|些|这边|那边|这里|出了|遇到|需要|处理|"
    r"问题|情况|事情|事儿|事|诉求|麻烦事|的|了|吧|啊|呀|呢|下|嗯|哦|呃|额|哈")
