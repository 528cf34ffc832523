"""Staff passwords: Argon2id hashes (argon2-cffi) and a strength rule.

The rule: at least 10 characters, and not easy to guess by zxcvbn's estimate (score ≥ 3 of 4),
which knows the most common passwords, keyboard rows, repeats, sequences, dates and common
names, and is told the account's own username and name. Refusals say why, in Chinese.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import argon2
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from bot.staff.errors import StaffError

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_SCORE = 3
_ZXCVBN_MAX = 72        # zxcvbn's own limit; a longer password is judged by its first 72 characters

# Why zxcvbn found a password easy to guess, by the kind of pattern it matched.
_REASONS = {
    "passwords": "这是很常见的密码，很容易被猜到",
    "user_inputs": "密码里不要包含用户名或姓名",
    "spatial": "键盘上连着的按键（如 qwerty、asdf）很容易被猜到",
    "repeat": "重复的字符或片段（如 aaa、abcabc）很容易被猜到",
    "sequence": "连续的字母或数字（如 abcd、123456）很容易被猜到",
    "date": "日期和年份很容易被猜到",
    "regex": "日期和年份很容易被猜到",
    "names": "常见的姓名或单词单独使用很容易被猜到",
}
_WEAK = "密码太容易被猜到，请换一个更长、更不常见的密码，比如几个不相关的词加上数字和符号"


def weak(reason: str, en: str) -> StaffError:
    return StaffError(f"密码不符合要求：{reason}。", en, "weak_password", status=400)


def check_strength(password: str, user_inputs: Iterable[str | None] = ()) -> None:
    """Raise StaffError("weak_password") when `password` may not be used."""
    if not isinstance(password, str) or not password:
        raise weak("密码不能为空", "empty password")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in password):
        raise weak("密码里不能有控制字符或换行", "control character in password")
    if len(password) < MIN_LENGTH:
        raise weak(f"至少需要 {MIN_LENGTH} 个字符（现在只有 {len(password)} 个）",
                   f"shorter than {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise weak(f"最多 {MAX_LENGTH} 个字符", f"longer than {MAX_LENGTH} characters")
    inputs = [part for value in user_inputs if value for part in (value, *value.split("."))]
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=inputs)
    if result["score"] >= MIN_SCORE:
        return
    raise weak(_reason(result["sequence"]), f"too easy to guess (zxcvbn score {result['score']})")


def _reason(sequence: list[dict]) -> str:
    """The Chinese reason for the most telling pattern zxcvbn matched."""
    kinds = []
    for match in sequence:
        pattern = match.get("pattern")
        if pattern == "dictionary":
            name = match.get("dictionary_name")
            kinds.append(name if name in ("passwords", "user_inputs") else "names")
        else:
            kinds.append(pattern)
    for kind in ("user_inputs", "passwords", "spatial", "repeat", "sequence", "date", "regex", "names"):
        if kind in kinds:
            return _REASONS[kind]
    return _WEAK


class Passwords:
    """Hash and verify with Argon2id; the parameters are argon2-cffi's (RFC 9106, low memory)
    unless given. `needs_rehash` tells when a stored hash was made with other parameters."""

    def __init__(self, **parameters) -> None:
        self._hasher = argon2.PasswordHasher(**parameters)
        self._dummy = self._hasher.hash("dummy password, never valid")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def burn(self, password: str) -> None:
        """Spend the time of one verification, for a username that does not exist, so that
        answering "wrong" takes as long whether or not the account is there."""
        self.verify(self._dummy, password)
