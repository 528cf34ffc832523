"""Recognise an area of the county (data/county/areas.yml) and the address in what a resident says."""
from __future__ import annotations

import weakref

from bot.catalog import Catalog
from bot.intake.places import Place, PlaceMatcher

_TIER_RANK = {"grid": 0, "point": 1, "station": 2, "center": 3}
_MATCHERS: "weakref.WeakKeyDictionary[Catalog, PlaceMatcher]" = weakref.WeakKeyDictionary()


def find_area(catalog: Catalog, text: str | None) -> str | None:
    """The most specific area whose name, place or alias occurs in `text`, or None.

    The longest matching name wins (文化路社区 beats 文化路); on a tie the smaller area.
    The county itself is never returned: no area means the center routes the case.
    """
    if not text:
        return None
    best: tuple[int, int, str] | None = None
    for area in catalog.areas.values():
        if area.tier == "center":
            continue
        for name in {area.name, area.place, *area.names}:
            if name and name in text:
                key = (len(name), -_TIER_RANK[area.tier], area.code)
                if best is None or key > best:
                    best = key
    return best[2] if best else None


def find_place(catalog: Catalog, text: str | None) -> Place:
    """The address as the resident said it (阳光花园8栋3单元, 五里村三组, 建设路与解放路交叉口),
    kept even when the county data do not know it, and the area when they do: the same
    reading as hotline transcripts get."""
    try:
        matcher = _MATCHERS[catalog]
    except (KeyError, TypeError):
        matcher = PlaceMatcher(catalog)
        try:
            _MATCHERS[catalog] = matcher
        except TypeError:        # a catalog that cannot be weakly referenced: no cache
            pass
    return matcher.find(text or "")
