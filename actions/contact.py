"""Phone numbers in what residents type: found whole, never cut to fit, refused with a reason.

"１３９１２３４５６７８" (full-width), "139 1234 5678", "+86 139-1234-5678" and "0371-6512 3456" are
phone numbers; a run of 12 or 16 digits is not an 11-digit phone with something extra, it is a
mistyped number, and the resident is told what is wrong with it.
"""
from __future__ import annotations

import re
import unicodedata

from bot.cases.errors import CaseError
from bot.cases.validation import normalize_phone

# A run of digits with the separators people put inside phone numbers; a case number
# (20261122-0007) is a run too, but starts with 2 and is never read as a phone attempt.
_RUN = re.compile(r"(?<![\dA-Za-z])(?:\+?86[- ]?)?\(?\d[\d\- ()]{4,22}\d(?![\dA-Za-z])")
_SEPARATORS = re.compile(r"[\s\-()]")
# What a bare "my number" answer is made of, besides the number itself.
_FILLER = re.compile(r"我的|我|电话号码|电话|手机号码|手机号|手机|号码|联系方式|联系|打|是|就|吧|呀|啊|的|"
                     r"可以|方便|随时|这个|[\s,，.。:：;；!！~、]")


def _digits(run: str) -> str:
    digits = _SEPARATORS.sub("", run)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def find_phone(text: str | None) -> tuple[str | None, str | None]:
    """(phone, problem): the first valid phone number in the text, normalised; else, when the
    text holds something meant as a phone number that is not one, why (in Chinese)."""
    text = unicodedata.normalize("NFKC", text or "")
    problem = None
    for match in _RUN.finditer(text):
        digits = _digits(match.group(0))
        if not digits.isdigit() or digits[0] not in "01":
            continue
        landline = re.sub(r"[\s()]", "", match.group(0))      # "0371-65432100" keeps its dash
        for candidate in ((landline, digits) if digits[0] == "0" else (digits,)):
            try:
                return normalize_phone(candidate), None
            except CaseError:
                pass
        if digits[0] == "1" and problem is None:
            problem = (f"这个号码是{len(digits)}位数字，手机号应该是11位，请核对一下再发给我。")
        elif digits[0] == "0" and problem is None and len(digits) >= 7:
            problem = "这个固定电话的位数好像不对：区号3到4位，号码7到8位，比如 0371-65123456。"
    return None, problem


def only_a_phone(text: str | None) -> bool:
    """Whether the text is plainly a phone number ("13912345678", "我电话是139 1234 5678"),
    with nothing else said."""
    text = unicodedata.normalize("NFKC", text or "")
    attempts = [m for m in _RUN.finditer(text) if _digits(m.group(0))[:1] in ("0", "1")]
    rest = _RUN.sub("", text)
    return bool(attempts) and not _FILLER.sub("", rest)


def without_phone(text: str | None) -> str:
    """The text with its phone numbers and the words that introduce them taken out
    ("我电话13912345678，楼下很吵" → "楼下很吵")."""
    text = unicodedata.normalize("NFKC", text or "")
    return _FILLER.sub("", _RUN.sub("", text))
