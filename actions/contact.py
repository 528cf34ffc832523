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
from bot.intake.phones import find_numbers, to_ascii_digits

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


# Whose number it is, said just before it: "老板电话139…", "物业的座机是0371-…", "打他手机".
_SOMEONE_ELSE = re.compile(
    r"(?:老板娘?|商家|店家|店主|店老板|卖家|物业|保安|对方|他们?|她们?|人家|邻居|楼上|楼下|房东|中介|"
    r"公司|单位|厂里|厂家|工地|经理|负责人|司机|师傅|工头|包工头|老师|校长|医生|村长|村干部|书记|"
    r"快递员?|外卖员?|客服|商户)的?(?:电话|手机|手机号|手机号码|号码|座机|联系方式|热线)"
    r"(?:是|为|号)?[：:\s]*$")
_CLAUSE = re.compile(r"[，,。；;！!？?\n]")
SERVICE_NUMBER = ("400、800开头的是企业的客服热线，没法用来联系您本人。"
                  "请留一个手机号，或者带区号的固定电话，比如 0371-65123456。")


def _normalised(text: str | None) -> str:
    """The text as the shared number reader reads it (bot/intake/phones.py): full-width digits
    and spoken digit runs ("一三八…", "幺三九…") become ASCII digits, one character for one."""
    return to_ascii_digits(unicodedata.normalize("NFKC", text or ""))


def someone_elses(text: str, start: int) -> bool:
    """Whether the number starting at `start` is said to be someone else's ("老板电话…")."""
    before = _CLAUSE.split(text[max(0, start - 20):start])[-1]
    return bool(_SOMEONE_ELSE.search(before))


def find_phone(text: str | None, *, own: bool = False) -> tuple[str | None, str | None]:
    """(phone, problem): the first valid phone number in the text, normalised; else, when the
    text holds something meant as a phone number that is not one, why (in Chinese).

    Numbers are read by the intake's reader (`bot.intake.phones.find_numbers`), so chat and
    phone-call intake agree on "0371-6666 8888" and "一三八一二三四五六七八". With `own`, a
    number said to be someone else's ("老板电话139…") is skipped: it is not the resident's."""
    text = _normalised(text)
    problem = None
    for number in find_numbers(text):
        if own and someone_elses(text, number.start):
            continue
        if number.kind == "service":
            problem = problem or SERVICE_NUMBER
        if number.kind not in ("mobile", "landline"):
            continue
        try:
            return normalize_phone(number.value), None
        except CaseError:
            pass
    for match in _RUN.finditer(text):
        if own and someone_elses(text, match.start()):
            continue
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


def others_numbers(text: str | None) -> set[str]:
    """The phone numbers in the text said to be someone else's ("老板电话13933334444"):
    kept in what the resident said, never taken as the resident's contact."""
    text = _normalised(text)
    found = set()
    for number in find_numbers(text):
        if number.kind in ("mobile", "landline") and someone_elses(text, number.start):
            try:
                found.add(normalize_phone(number.value))
            except CaseError:
                pass
    return found


def only_a_phone(text: str | None) -> bool:
    """Whether the text is plainly a phone number ("13912345678", "我电话是139 1234 5678"),
    with nothing else said."""
    text = _normalised(text)
    attempts = [m for m in _RUN.finditer(text) if _digits(m.group(0))[:1] in ("0", "1")]
    rest = _RUN.sub("", text)
    return bool(attempts) and not _FILLER.sub("", rest)


def without_phone(text: str | None) -> str:
    """The text with its phone numbers and the words that introduce them taken out
    ("我电话13912345678，楼下很吵" → "楼下很吵")."""
    text = _normalised(text)
    return _FILLER.sub("", _RUN.sub("", text))
