"""Likely duplicates (并单 candidates): open cases in the same area and category whose text
looks like the same matter, scored by TF-IDF cosine over character bigrams."""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import asdict, dataclass

from bot.catalog import Catalog
from bot.cases.views import CaseView
from bot.privacy import mask_text

THRESHOLD = 0.3
TEXT_CHARS = 2000        # a case is compared by its summary and this much of its text
_KEEP = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+")


@dataclass
class Duplicate:
    number: str
    summary: str
    state_label: str
    area: str | None
    created_at: str
    score: float
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def bigrams(text: str) -> Counter:
    grams: Counter = Counter()
    for run in _KEEP.findall(text.lower()):
        if len(run) == 1:
            grams[run] += 1
        grams.update(run[i:i + 2] for i in range(len(run) - 1))
    return grams


def _weighted(vectors: list[Counter], corpus: list[Counter] | None = None
              ) -> list[tuple[dict[str, float], float]]:
    """TF-IDF weights (IDF over `corpus`, by default `vectors`) and each vector's norm."""
    corpus = vectors if corpus is None else corpus
    n = len(corpus)
    df: Counter = Counter()
    for v in corpus:
        df.update(v.keys())
    idf = {g: math.log((n + 1) / (c + 1)) + 1 for g, c in df.items()}
    out = []
    for v in vectors:
        w = {g: (1 + math.log(c)) * idf[g] for g, c in v.items()}
        out.append((w, math.sqrt(sum(x * x for x in w.values())) or 1.0))
    return out


def _cosine(a: tuple[dict[str, float], float], b: tuple[dict[str, float], float]) -> float:
    (aw, an), (bw, bn) = (a, b) if len(a[0]) <= len(b[0]) else (b, a)
    return sum(w * bw.get(g, 0.0) for g, w in aw.items()) / (an * bn)


def matter_text(summary: str, text: str | None) -> str:
    """What a case is compared by: its summary and the start of its text."""
    return f"{summary}\n{(text or '')[:TEXT_CHARS]}"


def cosine_scores(query: str, documents: list[str]) -> list[float]:
    """TF-IDF cosine between `query` and each document (IDF over the documents and the query)."""
    weighted = _weighted([*(bigrams(d) for d in documents), bigrams(query)])
    q = weighted.pop()
    return [_cosine(q, d) for d in weighted]


def cosine_matrix(documents: list[str], corpus: list[Counter] | None = None) -> list[list[float]]:
    """The TF-IDF cosine of every pair of documents, symmetric; IDF over `corpus` (bigram
    counts of a larger set the documents belong to) or else over the documents."""
    weighted = _weighted([bigrams(d) for d in documents], corpus)
    size = len(weighted)
    matrix = [[1.0] * size for _ in range(size)]
    for i in range(size):
        for j in range(i + 1, size):
            matrix[i][j] = matrix[j][i] = _cosine(weighted[i], weighted[j])
    return matrix


def area_scope(catalog: Catalog, area: str | None) -> list[str] | None:
    """The area codes that count as "the same area": the point (or station) the area
    belongs to and everything under it. None (no area) means every area."""
    if area is None or area not in catalog.areas:
        return None
    anchor = catalog.ancestor_at(area, "point").code
    return [code for code in catalog.areas
            if anchor in {a.code for a in catalog.lineage(code)}]


def rank(query: str, candidates: list[CaseView], *, threshold: float = THRESHOLD,
         limit: int = 5, phone_mask: str | None = None) -> list[Duplicate]:
    if not candidates:
        return []
    texts = [matter_text(c.summary, c.text) for c in candidates]
    out = []
    for case, score in zip(candidates, cosine_scores(query, texts)):
        same_caller = bool(phone_mask and case.contact and case.contact == phone_mask)
        if score < threshold and not (same_caller and score >= threshold / 2):
            continue
        reason = f"同区域同分类，文本相似度 {score:.2f}"
        if same_caller:
            reason += "，同一来电号码"
        out.append(Duplicate(case.number, mask_text(case.summary), case.state_label,
                             case.area["name"] if case.area else None, case.created_at,
                             round(score, 3), reason))
    out.sort(key=lambda d: -d.score)
    return out[:limit]
