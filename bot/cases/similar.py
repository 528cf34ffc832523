"""Similar open cases for a one-click 并单 on the case page.

Candidates: open cases (merged and finished ones are not open) of the same category or
another category of the same 一级, in the case's area or a neighbouring one (the area's
parent and everything below the parent: siblings and their grids). Ranked by the TF-IDF
cosine over character bigrams that hotline intake uses for its duplicates
(`bot.intake.duplicates.cosine_scores`); a case of a sibling category counts for
`SIBLING_WEIGHT` of its text score, so the same matter filed under the same category comes
first."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from bot.cases.service import CaseService
from bot.cases.views import CaseView
from bot.catalog import Catalog
from bot.intake.duplicates import cosine_scores, matter_text

LIMIT = 5
MIN_SCORE = 0.1          # below this the texts share little more than common words
SIBLING_WEIGHT = 0.8
POOL = 300               # newest candidates read; enough for one neighbourhood's open cases


@dataclass
class Similar:
    number: str
    summary: str
    state: str
    state_label: str
    category: dict
    area: str | None
    created_at: str
    due_at: str | None
    score: float
    same_category: bool
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def neighbourhood(catalog: Catalog, area: str | None) -> set[str] | None:
    """The area codes near `area`: its parent and all below it. None (every area) for a case
    without an area or at the center."""
    if area is None or area not in catalog.areas:
        return None
    parent = catalog.areas[area].parent
    if parent is None:
        return None
    return catalog.subtree(parent)


def related_categories(catalog: Catalog, code: str) -> list[str]:
    level1 = catalog.categories[code].level1
    return [c.code for c in catalog.categories.values() if c.level1 == level1]


def similar_cases(cases: CaseService, case: CaseView, *, limit: int = LIMIT,
                  visible: Callable[[CaseView], bool] = lambda view: True) -> list[Similar]:
    """Up to `limit` open cases that look like the same matter, best first; only those
    `visible` passes (the console passes what the staff member may see)."""
    catalog = cases.catalog
    code = case.category["code"]
    area = case.area["code"] if case.area else None
    candidates = [c for c in cases.open_cases_in(related_categories(catalog, code),
                                                 neighbourhood(catalog, area), limit=POOL)
                  if c.number != case.number and visible(c)]
    if not candidates:
        return []
    texts = [matter_text(c.summary, c.text) for c in candidates]
    found = []
    for other, score in zip(candidates, cosine_scores(matter_text(case.summary, case.text), texts)):
        same = other.category["code"] == code
        score = score if same else score * SIBLING_WEIGHT
        if score < MIN_SCORE:
            continue
        where = "同区域" if other.area == case.area else "相邻区域"
        kind = "同分类" if same else f"同属{other.category['level1']}"
        found.append(Similar(other.number, other.summary, other.state, other.state_label,
                             other.category, other.area["name"] if other.area else None,
                             other.created_at, other.due_at, round(score, 3), same,
                             f"{where}、{kind}，文本相似度 {score:.2f}"))
    found.sort(key=lambda s: (-s.score, s.number))
    return found[:limit]
