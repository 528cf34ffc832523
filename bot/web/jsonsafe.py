"""Request bodies → Python values, refusing what would hurt the parser or the database.

`json.loads` recurses once per nesting level (10,000 levels raise `RecursionError`), turns a
5,000-digit literal into a `ValueError` from `int()` (or a slow giant integer), accepts
`NaN`/`Infinity`, and passes lone surrogates ("\\ud800") through to SQLite and the JSON
encoder, which then fail. Here the nesting depth is counted *before* parsing, in one linear
pass over the structural characters (no recursion, no backtracking regex); number literals
are length-checked by the parser's hooks before `int()`/`float()` see them; the parsed value
is walked once, iteratively, for lone surrogates and NUL characters.

Bytes must be UTF-8 (a UTF-8 BOM is tolerated): a declared other charset is 415, undecodable
bytes are 400, both with a Chinese message.
"""
from __future__ import annotations

import codecs
import json
import math
import re

from starlette.requests import Request

from bot.web.errors import WebError

MAX_DEPTH = 32
MAX_NUMBER_CHARS = 40
_UTF8 = {"utf-8", "utf8"}

_SPECIAL = re.compile(r'["\\\[\]{}]')

BAD_JSON_ZH = "请求格式不正确，请刷新页面后再试。"
BAD_CHARS_ZH = "内容中含有无法识别的字符，请删除后重新输入。"


def too_large(limit: int, zh: str | None = None) -> WebError:
    return WebError(413, zh or f"提交的内容太大了（超过{limit // 1024}KB），请精简后再提交。", "too_long",
                    en=f"body larger than {limit} bytes")


async def read_body(request: Request, limit: int, too_long_zh: str | None = None) -> bytes:
    """The raw body, refused with 413 as soon as it passes `limit` bytes (never buffered whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit, too_long_zh)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise too_large(limit, too_long_zh)
    return bytes(raw)


def charset_of(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower() or None
    return None


def refuse_charset(charset: str) -> WebError:
    return WebError(415, f"请求内容须为 UTF-8 编码（收到的是 {charset[:40]}），请转换编码后再提交。",
                    "bad_encoding", en=f"unsupported charset {charset[:40]!r}: send UTF-8")


def decode_utf8(raw: bytes, content_type: str = "") -> str:
    charset = charset_of(content_type)
    if charset is not None and charset not in _UTF8:
        raise refuse_charset(charset)
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebError(400, f"请求内容不是 UTF-8 编码（第 {exc.start} 字节无法解码），请用 UTF-8 重新提交。",
                       "bad_encoding", en=f"body is not UTF-8 (byte {exc.start})") from None


def check_shape(text: str, *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse deep nesting without parsing: one linear pass over the structural characters.

    (A regex that blanks string literals first is quadratic on an unterminated string full of
    escaped quotes — each escaped quote starts a new attempt that runs to the end.)"""
    depth = 0
    in_string = False
    escaped_until = -1
    for match in _SPECIAL.finditer(text):
        at, ch = match.start(), match.group()
        if in_string:
            if at < escaped_until:
                continue
            if ch == "\\":
                escaped_until = at + 2
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                raise WebError(400, f"请求格式不正确：嵌套层数太多（最多 {max_depth} 层）。", "too_deep",
                               en=f"JSON nested deeper than {max_depth} levels")
        elif ch in "]}":
            depth -= 1


def _number_too_long() -> WebError:
    return WebError(400, f"请求格式不正确：数字太长（最多 {MAX_NUMBER_CHARS} 位）。", "bad_number",
                    en=f"number literal longer than {MAX_NUMBER_CHARS} characters")


def _int(literal: str) -> int:
    if len(literal) > MAX_NUMBER_CHARS:       # checked before int() does any work
        raise _NumberTooLong
    return int(literal)


class _NumberTooLong(ValueError):
    pass


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _finite(literal: str) -> float:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _NumberTooLong
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def check_strings(value, path: str = "") -> None:
    """Lone surrogates and NUL in any key or string → 400 naming where it is.

    Iterative, so it cannot recurse whatever the depth (the depth is bounded anyway)."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, where)
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))


def _check_text(text: str, where: str) -> None:
    if "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
        raise WebError(400, BAD_CHARS_ZH, "bad_chars", en="NUL or lone surrogate in a string",
                       detail=[{"field": where[:200] or "(body)", "problem": "含有无法识别的字符"}])


def loads(text: str, *, max_depth: int = MAX_DEPTH):
    """Bounded `json.loads`: depth, number length, no NaN/Infinity, no lone surrogates."""
    check_shape(text, max_depth=max_depth)
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite, parse_int=_int)
    except RecursionError:      # cannot happen after check_shape; kept as a last fence
        raise WebError(400, f"请求格式不正确：嵌套层数太多（最多 {max_depth} 层）。", "too_deep") from None
    except _NumberTooLong:
        raise _number_too_long() from None
    except ValueError as exc:
        raise WebError(400, BAD_JSON_ZH, "bad_json", en=f"invalid JSON: {str(exc)[:120]}") from None
    check_strings(value)
    return value


def is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def json_body(request: Request, limit: int, too_long_zh: str | None = None):
    """Read, bound, decode and parse a JSON request body; `WebError` for anything wrong."""
    content_type = request.headers.get("content-type", "")
    if not is_json(content_type):
        raise WebError(415, "请求格式不正确（需要 JSON），请刷新页面后再试。", "bad_content_type",
                       en="Content-Type must be application/json")
    raw = await read_body(request, limit, too_long_zh)
    return loads(decode_utf8(raw, content_type))
