"""Several matters in one message: "一是停水两天；二是烧烤摊半夜吵；三是低保没批下来".

A case is one matter. When a letter or a call names others beside the one it is filed under,
the resident (at the read-back) or the operator (in the proposal) is told which, so that
nothing said is silently left out: they can be filed one by one. The message is cut where
residents start a new matter (一是…二是…, 第一…, 另外, 还有, 1、…) and at sentence ends; each
piece the classifier reads confidently as a category of another 二级 is one more matter.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.catalog import Catalog

# Where a new matter starts: enumerations and the words that add one.
_STARTS = re.compile(
    r"(?:^|(?<=[，,。；;！!？?\s：:]))(?:[一二三四五六七八九十]是|第[一二三四五六七八九十][、，,点是]?|"
    r"(?:首先|其次|再次|最后|另外|此外|还有(?:就是)?|再就是|再有|同时)[，,、]?|"
    r"[（(]?[1-9一二三四五六七八九十][）)、.．]\s*)")
_ENDS = re.compile(r"[。；;！!？?\n]+")
# Politeness, the letter's frame and who writes say no matter of their own.
_FRAME = re.compile(r"^(?:尊敬的.{0,12}|.{0,8}(?:您好|你好)|此致|敬礼|谢谢.{0,6}|感谢.{0,10}|盼复|"
                    r"(?:我|俺|本人)(?:是|系).{0,16}(?:的|人)?(?:业主|居民|村民|家长|职工|员工|市民|群众|租户|住户)?)$")
_CLAUSES = re.compile(r"[，,、：:]+")
MIN_PIECE = 8            # characters: shorter pieces are details of the matter before them
MIN_CONFIDENCE = 0.7
MAX_OTHERS = 4

Classify = Callable[[list[str]], Sequence[tuple[str, float]]]


def pieces(text: str) -> list[str]:
    """The parts of a message that may each be a matter."""
    out: list[str] = []
    for sentence in _ENDS.split(text or ""):
        starts = [m.start() for m in _STARTS.finditer(sentence)] or [0]
        bounds = ([0] if starts[0] else []) + starts + [len(sentence)]
        for a, b in zip(bounds, bounds[1:]):
            clauses = [c.strip() for c in _CLAUSES.split(sentence[a:b])]
            piece = "，".join(c for c in clauses if c and not _FRAME.match(c))
            if len(piece) >= MIN_PIECE:
                out.append(piece)
    return out


def listed(text: str | None) -> list[str]:
    """The pieces of a message that lists or adds matters in so many words (cheap: no
    classifier); [] for a message about one matter."""
    if not text or _STARTS.search(text) is None:
        return []
    found = pieces(text)
    return found if len(found) >= 2 else []


def other_matters(text: str, main: str, classify: Classify, catalog: Catalog) -> list[str]:
    """Codes of the matters `text` names beside `main`, in the order said (one per 二级).
    Only a message that lists or adds matters in so many words is read so: in a letter
    about one matter, its sentences touch the neighbours of its category (the 社保 and 户口
    an enrolment depends on), and telling the resident of those would be noise."""
    return matters_among(listed(text), main, classify, catalog)


def matters_among(found: list[str], main: str, classify: Classify, catalog: Catalog) -> list[str]:
    """`other_matters` on pieces already cut by `listed`."""
    if len(found) < 2:
        return []
    seen = {catalog.categories[main].level2} if main in catalog.categories else set()
    others: list[str] = []
    for code, confidence in classify(found):
        category = catalog.categories.get(code)
        if category is None or confidence < MIN_CONFIDENCE or code.startswith("other.") \
                or category.level2 in seen:
            continue
        seen.add(category.level2)
        others.append(code)
    return others[:MAX_OTHERS]


def mention(codes: list[str], catalog: Catalog) -> str:
    """"低保申请、噪声扰民" for the read-back and the proposal."""
    return "、".join(catalog.categories[c].level2 for c in codes)
