"""Recognise an area of the county (data/county/areas.yml) in what a resident says."""
from __future__ import annotations

from bot.catalog import Catalog

_TIER_RANK = {"grid": 0, "point": 1, "station": 2, "center": 3}


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
