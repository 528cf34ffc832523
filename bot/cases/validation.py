"""Checks on what people type before it reaches the case store."""
from __future__ import annotations

import re
import unicodedata

from bot.cases.errors import InvalidInput

MAX_TEXT = 5000
MAX_SHORT = 200
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def clean_text(value: str | None, *, field: str = "text", limit: int = MAX_TEXT,
               required: bool = True) -> str | None:
    """Normalise whitespace and width; reject empty, oversized or binary input."""
    if value is None or not value.strip():
        if required:
            raise InvalidInput(f"{field} is empty", "内容不能为空，请描述一下您的诉求")
        return None
    if "\x00" in value or any(unicodedata.category(ch) == "Cs" for ch in value):
        raise InvalidInput(f"{field} contains binary data", "内容中含有无法识别的字符，请重新输入")
    value = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    value = re.sub(r"[ \t]+", " ", value).strip()
    if not value:                      # nothing but control characters
        if required:
            raise InvalidInput(f"{field} is empty", "内容不能为空，请描述一下您的诉求")
        return None
    if len(value) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters",
                           f"内容过长（超过{limit}字），请精简后再提交")
    return value


def normalize_phone(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    digits = unicodedata.normalize("NFKC", value).strip().replace(" ", "")
    if digits.startswith("+86"):
        digits = digits[3:]
    if MOBILE.match(digits) or LANDLINE.match(digits):
        return digits
    raise InvalidInput(f"malformed phone number {mask_phone(value)}",
                       "电话号码格式不对，请填写11位手机号或带区号的固定电话")


def mask_phone(value: str | None) -> str | None:
    if not value:
        return value
    value = value.strip()
    if len(value) >= 7:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    return "*" * len(value)


def mask_name(value: str | None) -> str | None:
    if not value:
        return value
    return value[0] + "*" * (len(value) - 1) if len(value) > 1 else "*"
