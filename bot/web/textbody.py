"""Plain-text request bodies (a pasted transcript) → text, with an honest encoding error.

A declared charset is obeyed strictly: UTF-8, or GB18030 and its subsets (GBK, GB2312); any
other declared charset is 415. Without one, `bot.intake.decoding.decode` guesses (BOM, UTF-8,
then GB18030) — but GB18030 decodes almost any byte string, so a Shift-JIS (Japanese) body
would come out as plausible-looking gibberish. Before guessing, bytes that decode strictly as
Shift-JIS into mostly kana are refused as the wrong encoding. Chinese GBK text does not pass
that test: its lead bytes (0xB0–0xF7) are single half-width katakana in Shift-JIS, not kana.
"""
from __future__ import annotations

from bot.intake.decoding import decode
from bot.web.errors import WebError
from bot.web.jsonsafe import charset_of, decode_utf8, refuse_charset

_GB = {"gb18030", "gbk", "gb2312", "cp936", "gb-18030", "x-gbk"}


def decode_text(raw: bytes, content_type: str) -> str:
    """Raises `WebError` (415/400) for a wrong encoding and `IntakeError` for empty/binary."""
    charset = charset_of(content_type)
    if charset in ("utf-8", "utf8"):
        text = decode_utf8(raw, content_type)
        return decode(text.encode("utf-8"))        # the same empty/binary checks as files
    if charset in _GB:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise WebError(400, f"内容不是有效的 {charset.upper()} 编码（第 {exc.start} 字节无法解码）。",
                           "bad_encoding", en=f"body is not valid {charset} (byte {exc.start})") from None
        return decode(text.encode("utf-8"))
    if charset is not None:
        raise refuse_charset(charset)
    if looks_like_shift_jis(raw):
        raise WebError(415, "内容看起来是日文 Shift-JIS 编码，请转换为 UTF-8 或 GB18030 后再提交。",
                       "bad_encoding", en="body looks like Shift-JIS: send UTF-8 or GB18030")
    return decode(raw)


def looks_like_shift_jis(raw: bytes) -> bool:
    """Not UTF-8, decodes strictly as Shift-JIS, and most of its non-ASCII is hiragana/katakana."""
    sample = raw[:8192]
    try:
        sample.decode("utf-8")
        return False
    except UnicodeDecodeError:
        pass
    try:
        text = sample.decode("shift_jis")
    except UnicodeDecodeError:
        # a multi-byte character cut at the sample's end is not evidence either way
        try:
            text = sample[:-1].decode("shift_jis")
        except UnicodeDecodeError:
            return False
    wide = [ch for ch in text if ord(ch) > 0x7F]
    kana = sum(1 for ch in wide if "\u3040" <= ch <= "\u30ff")
    return len(wide) >= 2 and kana >= 0.3 * len(wide)
