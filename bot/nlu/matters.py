"""Several matters in one message: "一是停水两天；二是烧烤摊半夜吵；三是低保没批下来".

A case is one matter. When a letter or a call names others beside the one it is filed under,
the resident (at the read-back) or the operator (in the proposal) is told which, so that
nothing said is silently left out: they can be filed one by one. The message is cut where
residents start a new matter (一是…二是…, 第一…, 另外, 还有, 1、…) and at sentence ends; each
piece the classifier reads confidently as a category of another 二级 is one more matter. An
operator (`told`) also hears of a listed piece the classifier cannot read (a keyword fallback
knows no 桥), in the caller's own words: a call that says 一是…二是… has two matters.
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
# "我要反映两件事": how many matters follow, none of its own.
COUNT_FRAME = (r"(?:我|俺|我们)?(?:要|想)?(?:反映|说|讲|投诉|咨询|问)?(?:一下)?"
               r"[一二两三四五六七八九十几]?(?:个|件|点)(?:事情?|问题|情况)(?:要反映|想反映)?")
# Politeness, the letter's frame and who writes say no matter of their own.
_FRAME = re.compile(r"^(?:尊敬的.{0,12}|.{0,8}(?:您好|你好)|此致|敬礼|谢谢.{0,6}|感谢.{0,10}|盼复|"
                    r"(?:我|俺|本人)(?:是|系).{0,16}(?:的|人)?(?:业主|居民|村民|家长|职工|员工|市民|群众|租户|住户)?|"
                    rf"{COUNT_FRAME})$")
_CLAUSES = re.compile(r"[，,、：:]+")
MIN_PIECE = 8            # characters: shorter pieces are details of the matter before them
MIN_LISTED = 4           # characters after the listing word: "二是桥塌了" is a matter
MIN_CONFIDENCE = 0.7
MAX_OTHERS = 4
SHOWN = 14               # characters of the caller's own words that name a matter

Classify = Callable[[list[str]], Sequence[tuple[str, float]]]


def _cut(text: str) -> list[tuple[str, bool]]:
    """Every part of a message, and whether a listing word (一是, 还有 …) starts it."""
    out: list[tuple[str, bool]] = []
    for sentence in _ENDS.split(text or ""):
        starts = [m.start() for m in _STARTS.finditer(sentence)]
        bounds = ([0] if not starts or starts[0] else []) + starts + [len(sentence)]
        for a, b in zip(bounds, bounds[1:]):
            clauses = [c.strip() for c in _CLAUSES.split(sentence[a:b])]
            piece = "，".join(c for c in clauses if c and not _FRAME.match(c))
            if piece:
                out.append((piece, a in starts))
    return out


def lists_matter(text: str) -> bool:
    """Whether `text` starts with a word that lists or adds a matter (一是, 第二, 还有 …)."""
    return _STARTS.match(text) is not None


def pieces(text: str) -> list[str]:
    """The parts of a message that may each be a matter."""
    return [piece for piece, _ in _cut(text) if len(piece) >= MIN_PIECE]


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


def told(text: str | None, main: str, classify: Classify, catalog: Catalog) -> list[str]:
    """What an operator is told of the matters a call lists beside `main`, in the order said,
    each once: the 二级 of a piece the classifier is sure of, else the caller's own words,
    shortened, of a piece begun with a listing word (一是, 第二, 还有 …), which is a matter
    whatever the classifier makes of it. Only a call that lists or adds matters is read so.
    The piece filed as `main` is the first read as its 二级, else the first the classifier is
    unsure of (else the first piece)."""
    cut = [(piece, marked) for piece, marked in _cut(text or "")
           if len(_own_words(piece) if marked else piece) >= MIN_LISTED]
    if len(cut) < 2 or not any(marked for _, marked in cut):
        return []
    answers = list(classify([piece for piece, _ in cut]))
    main_level2 = catalog.categories[main].level2 if main in catalog.categories else None
    levels = [catalog.categories[code].level2 if code in catalog.categories else None
              for code, _ in answers]
    sure = [level2 is not None and confidence >= MIN_CONFIDENCE and not code.startswith("other.")
            for (code, confidence), level2 in zip(answers, levels)]
    filed = levels.index(main_level2) if main_level2 in levels else \
        next((index for index, known in enumerate(sure) if not known), 0)
    out: list[str] = []
    for index, ((piece, marked), level2) in enumerate(zip(cut, levels)):
        if index == filed or level2 == main_level2:     # even an unsure guess of it: its detail
            continue
        if sure[index]:
            name = level2
        else:
            words = _own_words(piece)
            if not marked or _FRAME.match(words) or _WISH.match(words):
                continue
            name = f"“{_shorten(words)}”"
        if name not in out:
            out.append(name)
    return out[:MAX_OTHERS]


# A piece that asks for something ("同时希望尽快处理") names no matter of its own.
_WISH = re.compile(r"^(?:希望|要求|请求?|恳请|麻烦|盼|望)")


def _own_words(piece: str) -> str:
    """A piece without the listing word that starts it."""
    start = _STARTS.match(piece)
    return (piece[start.end():] if start else piece).lstrip("，,、：: ")


def _shorten(words: str) -> str:
    """The caller's words for a matter: the first clause that says something, at most SHOWN
    characters."""
    clauses = [c for c in _CLAUSES.split(words) if c]
    first = next((c for c in clauses if len(c) >= MIN_LISTED), words)
    return first if len(first) <= SHOWN else first[:SHOWN - 1] + "…"


def mention(codes: list[str], catalog: Catalog) -> str:
    """"低保申请、噪声扰民" for the read-back and the proposal."""
    return "、".join(catalog.categories[c].level2 for c in codes)
