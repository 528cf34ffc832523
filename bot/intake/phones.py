"""Phone numbers and case numbers in what people say.

Handles mobile and landline numbers written or spoken: digit by digit with spaces, dashes or
commas between groups, full-width digits, Chinese numerals (幺三八、一三八、零、两), a +86
prefix, "尾号1234", with invisible format characters (zero-width spaces, bidi marks) inside; and
case numbers such as `20261122-0007` or `JJ20261122-0007`, also
spoken ("二零二六一一二二杠零零零七").
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CN_DIGITS = {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
              "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
# A run of at least 4 spoken digits, optionally spaced; '洞' (0) only inside such a run.
_CN_RUN = re.compile(r"[零〇洞一幺二两三四五六七八九](?:(?:[ \t]?|[ \t]*[，,、\-－—杠][ \t]*)[零〇洞一幺二两三四五六七八九]){3,}")
_DIGIT_CHUNK = re.compile(r"\d+")
_HARD_SEP = re.compile(r"^[ \t\-－—–_·.()（）]{1,3}$|^[ \t]*杠[ \t]*$")
_SOFT_SEP = re.compile(r"^[ \t]*[，,、][ \t]*$")
_DATE_OR_TIME = re.compile(r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?|"
                           r"\d{1,2}[月/]\d{1,2}[日号]?")
_LOCAL_CONTEXT = re.compile(r"(?:电话|座机|固话|号码|打|拨)[^\d]{0,6}$")
_TAIL = re.compile(r"尾(?:号|数|巴)(?:是|为)?[:：]?[ \t]*(\d[ \t\-]?\d[ \t\-]?\d[ \t\-]?\d)(?!\d)")
CASE_NUMBER = re.compile(
    r"(?<![A-Za-z0-9])(?P<prefix>[A-Za-z]{1,4}[ \t]?)?(?P<day>20\d{2}[01]\d[0-3]\d)[ \t]*"
    r"(?P<sep>[-－—–_][ \t]*|杠[ \t]*)?(?P<seq>\d{4,6})(?!\d)")
_CASE_CONTEXT = re.compile(r"(?:编号|单号|工单|件号|受理号|案号|号码是|号是|查询号)[^\d]{0,6}$")


@dataclass(frozen=True)
class NumberMatch:
    value: str        # normalised: '13812345678', '0571-87654321', '20261122-0007'
    kind: str         # 'mobile' | 'landline' | 'local' | 'service' | 'case' | 'tail'
    start: int
    end: int


def to_ascii_digits(text: str) -> str:
    """Full-width → half-width and spoken Chinese digit runs → ASCII digits.

    Positions are kept: every character maps to exactly one character (NFKC is applied to
    digits and ASCII-range symbols only, which are one character each).
    """
    text = "".join(unicodedata.normalize("NFKC", ch) if "\uff01" <= ch <= "\uff5e" else ch for ch in text)
    return _CN_RUN.sub(lambda m: "".join(_CN_DIGITS.get(ch, ch) for ch in m.group(0)), text)


def _mask(text: str, spans) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            chars[i] = " " if chars[i] not in "\n" else "\n"
    return "".join(chars)


def _visible(text: str) -> tuple[str, list[int]]:
    """The text without format characters (Unicode category Cf: zero-width spaces and joiners,
    bidi marks and overrides, BOM, soft hyphens …), which hide inside numbers copied from chat
    apps and web pages, and for each character left (and the end) its position in `text`."""
    if not any(unicodedata.category(ch) == "Cf" for ch in text):
        return text, list(range(len(text) + 1))
    kept = [i for i, ch in enumerate(text) if unicodedata.category(ch) != "Cf"]
    return "".join(text[i] for i in kept), kept + [len(text)]


def _placed(matches: list[NumberMatch], where: list[int]) -> list[NumberMatch]:
    """Matches found in the visible text → positions in the text as given."""
    return [NumberMatch(m.value, m.kind, where[m.start], where[m.end - 1] + 1 if m.end > m.start
                        else where[m.start]) for m in matches]


def find_case_numbers(text: str) -> list[NumberMatch]:
    visible, where = _visible(text)
    return _placed(_case_numbers(to_ascii_digits(visible)), where)


def _case_numbers(norm: str) -> list[NumberMatch]:
    found = []
    for m in CASE_NUMBER.finditer(norm):
        day = m.group("day")
        if not (1 <= int(day[4:6]) <= 12 and 1 <= int(day[6:8]) <= 31):
            continue
        if not m.group("sep") and not _CASE_CONTEXT.search(norm[max(0, m.start() - 12):m.start()]):
            continue
        prefix = (m.group("prefix") or "").strip().upper()
        found.append(NumberMatch(f"{prefix}{day}-{m.group('seq')}", "case", m.start(), m.end()))
    return found


def find_numbers(text: str) -> list[NumberMatch]:
    """Phone numbers (and tails, case numbers) in one piece of text, in order. Format
    characters are not read (a number with a zero-width space inside is still the number);
    the positions are those in `text` as given."""
    visible, where = _visible(text)
    norm = to_ascii_digits(visible)
    cases = _case_numbers(norm)
    masked = _mask(norm, [(c.start, c.end) for c in cases] +
                   [(m.start(), m.end()) for m in _DATE_OR_TIME.finditer(norm)])
    found: list[NumberMatch] = list(cases)
    for group in _groups(masked):
        digits, start, end = group
        match = _classify(digits, start, end, masked)
        if match:
            found.append(match)
    taken = [(m.start, m.end) for m in found]
    for m in _TAIL.finditer(masked):
        if not any(s <= m.start(1) < e for s, e in taken):
            found.append(NumberMatch(re.sub(r"\D", "", m.group(1)), "tail", m.start(1), m.end(1)))
    return _placed(sorted(found, key=lambda n: n.start), where)


def _groups(text: str):
    """Digit chunks joined across the separators people use when reading numbers aloud."""
    chunks = [(m.group(0), m.start(), m.end()) for m in _DIGIT_CHUNK.finditer(text)]
    i = 0
    while i < len(chunks):
        digits, start, end = chunks[i]
        j = i + 1
        while j < len(chunks):
            gap = text[end:chunks[j][1]]
            nxt = chunks[j][0]
            joinable = _HARD_SEP.match(gap) or (_SOFT_SEP.match(gap) and len(nxt) >= 3 and len(digits) >= 3)
            if not joinable or len(digits) + len(nxt) > 13 or _complete(digits) and len(nxt) >= 3:
                break
            digits += nxt
            end = chunks[j][2]
            j += 1
        yield digits, start, end
        i = j


def _complete(digits: str) -> bool:
    return bool(re.fullmatch(r"1[3-9]\d{9}", digits))


def _classify(digits: str, start: int, end: int, text: str) -> NumberMatch | None:
    if digits.startswith("86") and len(digits) == 13 and digits[2] == "1":
        digits = digits[2:]
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        return NumberMatch(digits, "mobile", start, end)
    if re.fullmatch(r"0\d{9,11}", digits):
        area = 3 if digits[1] in "12" else 4
        local = digits[area:]
        if 7 <= len(local) <= 8:
            return NumberMatch(f"{digits[:area]}-{local}", "landline", start, end)
    if re.fullmatch(r"[48]00\d{7}", digits):
        return NumberMatch(digits, "service", start, end)
    if re.fullmatch(r"[2-9]\d{6,7}", digits) and _LOCAL_CONTEXT.search(text[max(0, start - 10):start]):
        return NumberMatch(digits, "local", start, end)
    return None
