"""Personal data inside free text: detectors and masking (issue 15 part 5).

Residents type their phone number, 身份证号, bank card or licence plate into the middle of a
complaint. Everything that stores or shows free text passes it through `mask_text` (or
`mask_value` for JSON data), so only the contact fields ever hold a readable number.

Detectors work on a normalised copy of the text in which every character maps to exactly one
character (full-width forms → ASCII, spoken digits 幺三八… → 138…), so a match's span is also
its span in the original text and masking replaces exactly what the resident typed.

Masks (irreversible, and masking a masked text changes nothing):
  mobile 138****5678 · landline 0571-****4321 · 身份证号 1101**********1234 (15-digit: 1101*******1234)
  bank card ****1234 · plate 京A***45 (new energy 京AD****45 keeps the last two as well)
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from bot.intake.names import SURNAME

PHONE, ID_CARD, BANK_CARD, PLATE = "phone", "id_card", "bank_card", "plate"

_SPOKEN = {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
           "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7", "八": "8", "九": "9", "勾": "9"}
# A stretch of at least four spoken or written digits (separators allowed between them):
# only such stretches are read as digits, so "一二三四月" alone never becomes a number.
_DIGITISH = "0-9零〇洞一幺二两三四五六七拐八九勾"
_SPOKEN_RUN = re.compile(rf"[{_DIGITISH}](?:[ \t\-]?[{_DIGITISH}]){{3,}}")
# Digit chunks and what may stand between the chunks of one number read aloud or typed.
_CHUNK = re.compile(r"\d+(?:[Xx](?![A-Za-z]))?")   # an 18th-character X stays with its digits
_HARD_GAP = re.compile(r"[ \t\u3000\-—–_·.()（）/]{1,3}|[ \t]*杠[ \t]*")
_SOFT_GAP = re.compile(r"[ \t]*[，,、][ \t]*")
_LOCAL_CONTEXT = re.compile(r"(?:电话|座机|固话|号码|手机|联系|打|拨)[^\d]{0,6}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
                 "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
                 "63", "64", "65", "71", "81", "82", "83"}
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(
    rf"(?<![A-Za-z0-9])([{_PROVINCES}])[ \t·•.]?([A-Za-z])[ \t·•.]?([A-Za-z0-9]{{5,6}})(?![A-Za-z0-9])")
_MIN_DIGITS, _MAX_DIGITS = 7, 19   # the shortest and longest number worth masking
# Lengths of what _classify can recognise: local 7-8, landline 10-12, mobile 11 (13 with 86),
# old ID 15, card 16-19, ID 18.
_LENGTHS = frozenset({7, 8, 10, 11, 12, 13, 15, 16, 17, 18, 19})
_CARD_GROUPS = re.compile(r"\d{4}(?:[ \-]\d{4}){3}(?:[ \-]\d{1,3})?")
_DATE = re.compile(r"(?:19|20)\d{2}([-/.])\d{1,2}\1\d{1,2}")
# Said right before a number, it is a 身份证号 whatever its check character.
_ID_CONTEXT = re.compile(r"(?:身份证|身份号码|证件号)[号码]{0,2}[^\d]{0,4}$")
_ID_SHAPE = re.compile(r"\d{17}[\dX]|\d{15}")


@dataclass(frozen=True)
class Finding:
    kind: str      # phone | id_card | bank_card | plate
    value: str     # normalised: '13812345678', '0571-87654321', '110101199003071234', '京A12345'
    start: int
    end: int

    @property
    def masked(self) -> str:
        return mask_finding(self.kind, self.value)


# ---------------------------------------------------------------------- normalising
def normalise(text: str) -> str:
    """Same length as `text`: full-width ASCII → ASCII, spoken digit stretches → digits."""
    chars = [unicodedata.normalize("NFKC", ch) if "\uff01" <= ch <= "\uff5e" else
             (" " if ch == "\u3000" else ch) for ch in text]
    out = "".join(chars)
    return _SPOKEN_RUN.sub(lambda m: "".join(_SPOKEN.get(ch, ch) for ch in m.group(0)), out)


# ---------------------------------------------------------------------- checks
def valid_id_number(value: str) -> bool:
    """An 18-character 身份证号 with its ISO 7064 MOD 11-2 check character, or an old
    15-digit one with a plausible birth date."""
    value = value.upper()
    if value[:2] not in _ID_PROVINCES:
        return False
    if re.fullmatch(r"\d{17}[\dX]", value):
        if not _plausible_date(value[6:14]):
            return False
        total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS))
        return _ID_CHECK[total % 11] == value[17]
    if re.fullmatch(r"\d{15}", value):
        return _plausible_date("19" + value[6:12]) and value[6:8] >= "20"
    return False


def id_shaped(value: str) -> bool:
    """A 身份证号 as far as its region and birth date go, whatever its check character: a
    province, a prefecture 01-70 or 90 and a real birth date up to this year (15 digits:
    19YY with YY >= 20). A typo in the check character still leaves a person's ID readable,
    while order numbers and 户号 seldom carry a province, a prefecture and a real day."""
    value = value.upper()
    if value[:2] not in _ID_PROVINCES or not ("01" <= value[2:4] <= "70" or value[2:4] == "90"):
        return False
    if len(value) == 18 and _ID_SHAPE.fullmatch(value):
        return _birth_date(value[6:14])
    if len(value) == 15 and value.isdigit():
        return value[6:8] >= "20" and _birth_date("19" + value[6:12])
    return False


def _plausible_date(yyyymmdd: str) -> bool:
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8])
    return 1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31


def _birth_date(yyyymmdd: str) -> bool:
    """A real calendar day from 1900 to this year."""
    try:
        day = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return 1900 <= day.year <= date.today().year


def luhn(value: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(value)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _classify(digits: str, before: str) -> tuple[str, str] | None:
    """What a run of digits is, if it is personal data: (kind, normalised value).
    Length and first-digit tests come first: this runs for every candidate join."""
    n = len(digits)
    if n in (15, 18):
        upper = digits.upper()
        if valid_id_number(upper) or id_shaped(upper) or \
                _ID_CONTEXT.search(before) and _ID_SHAPE.fullmatch(upper):
            return ID_CARD, upper
    if not digits.isdigit():
        return None
    if n == 13 and digits.startswith("861"):
        digits, n = digits[2:], 11
    if 16 <= n <= 19 and digits[0] != "0" and luhn(digits):
        return BANK_CARD, digits
    if n == 11 and digits[0] == "1" and digits[1] in "3456789":
        return PHONE, digits
    if digits[0] == "0" and 10 <= n <= 12:
        area = 3 if digits[1] in "12" else 4
        if 7 <= n - area <= 8:
            return PHONE, f"{digits[:area]}-{digits[area:]}"
    if 7 <= n <= 8 and digits[0] in "23456789" and _LOCAL_CONTEXT.search(before):
        return PHONE, digits
    return None


# ---------------------------------------------------------------------- finding
def find(text: str | None) -> list[Finding]:
    """Phone numbers, 身份证号, bank cards and plates in `text`, in order of position."""
    if not text:
        return []
    norm = normalise(text)
    found = [*_find_numbers(norm), *_find_plates(norm)]
    found.sort(key=lambda f: f.start)
    kept: list[Finding] = []
    for item in found:
        if not kept or item.start >= kept[-1].end:
            kept.append(item)
    return kept


def _find_numbers(norm: str) -> list[Finding]:
    chunks = [(m.start(), m.end()) for m in _CHUNK.finditer(norm)]
    links = [_joinable(norm, chunks[k], chunks[k + 1]) for k in range(len(chunks) - 1)]
    out: list[Finding] = []
    i = 0
    while i < len(chunks):
        best = None
        # The chunks that may belong to one number: joinable, at most _MAX_DIGITS digits in all
        # (so "1 3 8 1 2 3 4 5 6 7 8" read digit by digit is one number).
        group_end, size = i, chunks[i][1] - chunks[i][0]
        while group_end + 1 < len(chunks) and links[group_end]:
            following = chunks[group_end + 1][1] - chunks[group_end + 1][0]
            if size + following > _MAX_DIGITS:
                break
            group_end, size = group_end + 1, size + following
        # Longest join of this chunk with the chunks that follow it that is personal data.
        joined = "".join(norm[a:b] for a, b in chunks[i:group_end + 1])
        for j in range(group_end, i - 1, -1):
            if j < group_end:
                size -= chunks[j + 1][1] - chunks[j + 1][0]
            if size < _MIN_DIGITS:
                break
            if size not in _LENGTHS:
                continue
            start, end = chunks[i][0], chunks[j][1]
            digits = joined[:size]
            if "X" in digits.upper()[:-1] or size <= 8 and _DATE.fullmatch(norm, start, end):
                continue
            hit = _classify(digits, norm[max(0, start - 10):start])
            if hit is None and _CARD_GROUPS.fullmatch(norm, start, end):
                hit = (BANK_CARD, digits)  # written like a card: a typo in it is still a card
            if hit and hit[0] == PHONE and len(hit[1]) <= 8 and j != group_end:
                continue  # a local number is a whole group, never the head of a case number
            if hit:
                out.append(Finding(hit[0], hit[1], start, end))
                best = j
                break
        i = (best + 1) if best is not None else i + 1
    return out


def _joinable(norm: str, left: tuple[int, int], right: tuple[int, int]) -> bool:
    gap = norm[left[1]:right[0]]
    if _HARD_GAP.fullmatch(gap):
        return True
    return bool(_SOFT_GAP.fullmatch(gap)) and left[1] - left[0] >= 3 and right[1] - right[0] >= 3


def _find_plates(norm: str) -> list[Finding]:
    out = []
    for m in _PLATE.finditer(norm):
        tail = m.group(3).upper()
        if sum(ch.isdigit() for ch in tail) < 2 or "I" in tail or "O" in tail:
            continue
        out.append(Finding(PLATE, f"{m.group(1)}{m.group(2).upper()}{tail}", m.start(), m.end()))
    return out


# ---------------------------------------------------------------------- masking
def mask_finding(kind: str, value: str) -> str:
    if kind == PHONE:
        if "-" in value:
            area, local = value.split("-", 1)
            return f"{area}-****{local[-4:]}"
        if len(value) == 11:
            return f"{value[:3]}****{value[-4:]}"
        return "****" + value[-4:]
    if kind == ID_CARD:
        return value[:4] + "*" * (len(value) - 8) + value[-4:]
    if kind == BANK_CARD:
        return "****" + value[-4:]
    if kind == PLATE:
        return value[:2] + "*" * (len(value) - 4) + value[-2:]
    raise ValueError(kind)


def mask_text(text: str | None) -> str | None:
    """`text` with every phone number, 身份证号, bank card and plate replaced by its mask."""
    if not text:
        return text
    return _mask_cached(text) if len(text) <= 10000 else _mask(text)


@functools.lru_cache(maxsize=1024)
def _mask_cached(text: str) -> str:
    """The same texts are masked again and again (on write, then in every view of them)."""
    return _mask(text)


def _mask(text: str) -> str:
    findings = find(text)
    if not findings:
        return text
    parts, last = [], 0
    for f in findings:
        parts.append(text[last:f.start])
        parts.append(f.masked)
        last = f.end
    parts.append(text[last:])
    return "".join(parts)


def masked_head(text: str | None, limit: int, *, ellipsis: str = "") -> str | None:
    """`text` masked and cut to its first `limit` characters (counted in `text`), then
    `ellipsis` if anything was cut. A number the cut would split is left out whole: a cut of
    the raw text would show its first digits ("手机139123"), a cut of the masked text part of
    its mask."""
    if not text or len(text) <= limit:
        return mask_text(text)
    end = max(0, limit - len(ellipsis))
    parts, last = [], 0
    for f in find(text):
        if f.start >= end:
            break
        if f.end > end:
            end = f.start
            break
        parts += [text[last:f.start], f.masked]
        last = f.end
    parts.append(text[last:end])
    return "".join(parts).rstrip() + ellipsis


# Names a resident types about themself (我叫张三, 本人李建华, 姓王名小明, 联系人：赵六): the
# surname stays, the given name goes (张*). Only for public reads (Open311), where a wrong guess
# costs a starred character; stored text and staff views keep the names they need.
_NAME_END = r"(?=$|[，。,.！!？?、；;：:\s（(“”\"'…—\-0-9０-９]|吧|啊|呀|的|电话|手机|联系|住在|家住|身份证|今年)"
_NOT_GIVEN = "先生|女士|小姐|同志|师傅|老师|大爷|大妈|阿姨|大姐|大哥|奶奶|爷爷"
_TYPED_NAME = re.compile(
    rf"(?P<head>(?:我|俺|本人)(?:叫|的名字是|名叫)|(?:我|俺)是|本人|名叫|名字叫|姓名[:：]?\s*|联系人[:：]?\s*"
    rf"|(?:我|俺|本人)?姓(?={SURNAME}[，,]?(?:名|叫)))"
    rf"(?P<surname>{SURNAME})(?:[，,]?(?:名|叫))?"
    rf"(?P<given>(?!{_NOT_GIVEN})[\u4e00-\u9fff]{{1,2}}?){_NAME_END}")
# "我是房东", "我是党员": a role, not a name
_ROLE_END = set("员主东户长民工客人家方")


def mask_names(text: str | None) -> str | None:
    """`text` with the given names a resident typed about themself starred (张三 → 张*)."""
    if not text:
        return text

    def star(m: re.Match) -> str:
        given = m.group("given")
        if m.group("head").endswith("是") and given[-1] in _ROLE_END:
            return m.group(0)
        return m.group(0)[:m.start("given") - m.start()] + "*" * len(given)

    return _TYPED_NAME.sub(star, text)


# Exact addresses (issue 11 part 6): the house, building, unit and room numbers go, the road or
# compound stays, so a handler still knows where a matter is ("文化路**号", "幸福里小区*栋*单元***").
# Only digits that an address word follows (or that follow 单元), so "12月5号" keeps its date.
_DIGITS = "0-9０-９"
_ADDRESS_NUMBER = re.compile(
    rf"(?<=[路街道巷弄村区苑园里庄屯湾组坊城府院邸])[{_DIGITS}]+(?:[-－][{_DIGITS}]+)?(?=号)"
    rf"|[{_DIGITS}]+(?:[-－][{_DIGITS}]+)?(?=\s*(?:号楼|号院|栋|幢|座|单元|室|户))"
    rf"|(?<=单元)\s*[{_DIGITS}]{{2,5}}")


def mask_address(text: str | None) -> str | None:
    """`text` with the numbers of exact addresses masked (see above); everything else kept."""
    if not text:
        return text
    return _ADDRESS_NUMBER.sub(lambda m: "*" * len(m.group(0).strip()), text)


def mask_value(value, mask=None):
    """Mask every string inside a JSON-like value (dicts, lists, strings) with `mask`
    (`mask_text` by default); keys are kept."""
    mask = mask or mask_text
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: mask_value(v, mask) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v, mask) for v in value]
    return value


def phones_in(text: str | None) -> list[str]:
    """The phone numbers found in `text`, normalised, in order, without repeats."""
    seen: list[str] = []
    for f in find(text):
        if f.kind == PHONE and f.value not in seen:
            seen.append(f.value)
    return seen


# ---------------------------------------------------------------------- scanning stored data
# Where a readable number may stay: the contact fields (design.md §8: shown masked, revealed
# only by an audited role). Everything else that holds text must be masked.
ALLOWED_COLUMNS = frozenset({"cases.contact_phone", "cases.contact_name", "cases.address",
                             "outbox.address", "open311_requests.email",
                             "open311_requests.device_id", "open311_requests.account_id"})


@dataclass(frozen=True)
class StoredHit:
    table: str
    column: str
    row: str          # the row's primary key
    kind: str
    masked: str       # the finding, masked: a report never repeats the number

    def __str__(self) -> str:
        return f"{self.table}.{self.column} row {self.row}: {self.kind} {self.masked}"


def scan_database(engine_or_url, *, allowed: frozenset[str] | set[str] = ALLOWED_COLUMNS,
                  tables: set[str] | None = None) -> list[StoredHit]:
    """Every finding in every text or JSON column of every table (or of `tables`), except
    the `allowed` "table.column" pairs. Works on any SQLAlchemy URL or engine."""
    import json

    from sqlalchemy import JSON, MetaData, String, Text, create_engine, select

    engine = create_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    metadata = MetaData()
    metadata.reflect(engine)
    hits: list[StoredHit] = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if tables is not None and table.name not in tables:
                continue
            columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))
                       and f"{table.name}.{c.name}" not in allowed]
            if not columns:
                continue
            key = list(table.primary_key.columns) or list(table.columns)[:1]
            for row in conn.execute(select(*key, *columns)):
                values = row._mapping
                row_id = "/".join(str(values[k.name]) for k in key)
                for column in columns:
                    value = values[column.name]
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    for finding in find(text):
                        hits.append(StoredHit(table.name, column.name, row_id, finding.kind,
                                              finding.masked))
    return hits


if __name__ == "__main__":  # python -m bot.privacy DATABASE_URL: list what is stored unmasked
    import sys

    url = sys.argv[1]
    if url.startswith("sqlite:///") and not __import__("os").path.exists(url[len("sqlite:///"):]):
        sys.exit(f"no database at {url}")
    found = scan_database(url)
    for hit in found:
        print(hit)
    print(f"{len(found)} finding(s) outside the contact fields")
    sys.exit(1 if found else 0)
