"""Bytes → text: UTF-8 with or without BOM, UTF-16 with BOM, GB18030/GBK; binary is refused."""
from __future__ import annotations

import codecs
import unicodedata

from bot.intake.errors import IntakeError

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def decode(data: bytes) -> str:
    """Decode a transcript file; raise `IntakeError` for empty, binary or undecodable input."""
    if not data.strip():
        raise IntakeError("empty input", "内容为空")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(data.decode(encoding))
            except UnicodeDecodeError as exc:
                raise _undecodable(exc) from None
    if _looks_binary(data):
        raise IntakeError("binary data, not a text transcript",
                          "这是二进制文件，不是文本转写（请导出为 TXT、CSV、JSON 或 XLSX）")
    try:
        return _checked(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        if _mostly_utf8(data, exc.start):
            # Valid UTF-8 up to a corrupt byte: GB18030 would only turn it into gibberish.
            raise _undecodable(exc) from None
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise _undecodable(exc) from None
    if _mojibake(text):
        raise IntakeError("the bytes decode as GB18030 only into gibberish (Shift-JIS, Big5 …?)",
                          "文件编码无法识别（不是 UTF-8 或 GB18030/GBK，可能是 Shift-JIS、Big5 等），"
                          "请另存为 UTF-8 后再导入")
    return _checked(text)


def _undecodable(exc: UnicodeDecodeError) -> IntakeError:
    return IntakeError(f"undecodable bytes at offset {exc.start} (neither UTF-8 nor GB18030)",
                       f"文件第 {exc.start} 字节处无法解码，既不是 UTF-8 也不是 GB18030/GBK 编码")


def _mojibake(text: str) -> bool:
    """Shift-JIS or Big5 bytes read as GB18030 give characters outside GB2312 (the 6,763
    characters of everyday simplified Chinese); real GBK text, even traditional, rarely does."""
    wide = [ch for ch in text[:4000] if ord(ch) > 0x7F and not ch.isspace()]
    if len(wide) < 4:
        return False
    rare = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            rare += 1
    return rare > len(wide) * 0.4


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return controls > len(head) * 0.05


def _mostly_utf8(data: bytes, error_at: int) -> bool:
    """True when the bytes before the error hold several multi-byte UTF-8 characters."""
    prefix = data[:error_at]
    return sum(1 for b in prefix if 0xE0 <= b <= 0xEF) >= 3


def _checked(text: str) -> str:
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise IntakeError("empty input", "内容为空")
    sample = text[:4000]
    odd = sum(1 for ch in sample if unicodedata.category(ch) in ("Co", "Cn", "Cs")
              or (unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f"))
    if odd > max(3, len(sample) * 0.02):
        raise IntakeError("text is mostly unprintable characters (wrong encoding or binary)",
                          "文本中大量字符无法识别，可能是编码错误或二进制文件")
    return text
