"""Places in what callers say, normalised against the area data (data/county/areas.yml).

Every area is known by its `place`, its `name` (without 代理点/代理站), the alternative spellings
in `names`, and the core of each (文化路社区 → 文化路, 柳树湾村 → 柳树湾); grids also by their
parent's spellings plus the grid's own suffix (青石村二组 → 青石二组, 青石村2组). A spelling shared
by several areas stands for their nearest common ancestor (河口 → 河口乡). The free-text address
and a landmark are kept next to the area code.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from bot.catalog import Catalog

_AGENCY_SUFFIX = re.compile(r"(?:群众事务)?代理(?:点|站|中心)$")
_AREA_SUFFIX = re.compile(r"(?:社区|街道办事处|街道|办事处|村委会|村|镇|乡|小区)$")
_CN_NUM = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9", "十": "10"}

_STOP = "的了我你他她它在是有就都也还要说和跟把被到从给对那这个们家住边里头啊呀吧呢嘛么哦嗯喂"
_DETAIL = (r"(?:[0-9一二三四五六七八九十两百零]+[ \t]*(?:号楼|号院|号门|号|栋|幢|单元|层|楼|室|组|排|巷|弄))")
_ROAD = r"(?:大街|大道|路|街|巷|胡同|弄)"
_POI = (r"(?:小区|花园|家园|苑|公寓|大厦|广场|农贸市场|菜市场|市场|公园|学校|小学|中学|幼儿园|医院|卫生院|"
        r"超市|商场|酒店|饭店|饭馆|烧烤店|餐馆|店|工地|厂|加油站|车站|站|桥|路口|村|组|社区)")
_SIDE = r"(?:门口|楼下|楼上|楼道|附近|对面|旁边|路口|东侧|西侧|南侧|北侧|东边|西边|南边|北边|后面|前面|里面|拐角)"
_TAIL = re.compile(rf"(?:[^\s{_STOP}，。,.！!？?；;：:、]{{0,6}}?(?:{_ROAD}|{_POI}))?{_DETAIL}*{_SIDE}?")
_GENERIC = re.compile(rf"(?:(?<=在)|(?<=住)|(?<=于)|(?<=址)|(?<=是)|(?<=到)|(?<=[，。,.！!？?；;：:\s]))"
                      rf"[^\s{_STOP}，。,.！!？?；;：:、\d]{{1,8}}?(?:{_ROAD}{_DETAIL}+|{_POI}{_DETAIL}*)(?:{_SIDE})?")
_LANDMARK = re.compile(rf"[^\s{_STOP}，。,.！!？?；;：:、\d号栋幢层室]{{0,8}}?(?:学校|小学|中学|幼儿园|医院|卫生院|超市|商场|"
                       rf"农贸市场|菜市场|市场|公园|广场|车站|银行|饭店|酒店|烧烤店|餐馆|工地|加油站|派出所|桥|路口|厂){_SIDE}?")


@dataclass(frozen=True)
class PlaceHit:
    area: str
    text: str
    start: int
    end: int


@dataclass
class Place:
    area: str | None = None          # area code (grid, point or station)
    area_name: str | None = None     # 文化路社区
    address: str | None = None       # free text as said: 文化路28号楼下
    landmark: str | None = None      # 烧烤店, 实验小学门口
    matched: str | None = None       # the spelling that matched the area data

    def to_dict(self) -> dict:
        return asdict(self)


class PlaceMatcher:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        spellings: dict[str, set[str]] = {}
        for area in catalog.areas.values():
            if area.tier == "center":
                continue
            for spelling in self._spellings(area.code):
                spellings.setdefault(spelling, set()).add(area.code)
        self.spellings = {s: self._common_ancestor(codes) for s, codes in spellings.items()}
        self.spellings = {s: c for s, c in self.spellings.items() if c != catalog.center.code}
        alternatives = sorted(self.spellings, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None

    # ------------------------------------------------------------------ spellings
    def _base_spellings(self, code: str) -> set[str]:
        area = self.catalog.areas[code]
        out: set[str] = set()
        official = {_AGENCY_SUFFIX.sub("", n.strip()) for n in (area.place, area.name)}
        for name in official | {n.strip() for n in area.names}:
            if not name:
                continue
            out.add(name)
            # Cores only of official names: an alias such as 文化社区 would give a plain word.
            core = _AREA_SUFFIX.sub("", name)
            if name in official and len(core) >= 2:
                out.add(core)
        return out

    def _spellings(self, code: str) -> set[str]:
        area = self.catalog.areas[code]
        out = self._base_spellings(code)
        if area.tier == "grid" and area.parent:
            parent_names = sorted(self._base_spellings(area.parent), key=len, reverse=True)
            own = next((p for p in parent_names if area.name.startswith(p)), None)
            if own:
                suffix = area.name[len(own):]
                suffixes = {suffix, suffix.lstrip("第")}
                suffixes |= {re.sub("[一二三四五六七八九十]", lambda m: _CN_NUM[m.group(0)], s) for s in suffixes}
                out |= {p + s for p in parent_names for s in suffixes if s}
        return {s for s in out if len(s) >= 2}

    def _common_ancestor(self, codes: set[str]) -> str:
        lineages = [[a.code for a in self.catalog.lineage(c)] for c in codes]
        for code in lineages[0]:
            if all(code in lineage for lineage in lineages[1:]):
                return code
        return self.catalog.center.code

    # ------------------------------------------------------------------ matching
    def hits(self, text: str) -> list[PlaceHit]:
        if not self._pattern or not text:
            return []
        return [PlaceHit(self.spellings[m.group(0)], m.group(0), m.start(), m.end())
                for m in self._pattern.finditer(text)]

    def best_area(self, hits: list[PlaceHit]) -> str | None:
        """The deepest area that most mentions agree on (a street and a community in it
        support the community); ties go to the deeper tier, then to the first mentioned."""
        if not hits:
            return None
        first: dict[str, int] = {}
        for i, hit in enumerate(hits):
            first.setdefault(hit.area, i)
        tiers = ("station", "point", "grid")

        def score(code: str) -> tuple:
            lineage = {a.code for a in self.catalog.lineage(code)}
            support = sum(1 for h in hits if h.area in lineage)
            return (support, tiers.index(self.catalog.areas[code].tier), -first[code])

        return max(first, key=score)

    def find(self, text: str) -> Place:
        hits = self.hits(text)
        code = self.best_area(hits)
        place = Place(landmark=_landmark(text))
        if code:
            area = self.catalog.areas[code]
            hit = next(h for h in hits if h.area == code)
            place.area, place.area_name, place.matched = code, area.place or area.name, hit.text
            place.address = _address_at(text, hit, hits)
        else:
            generic = _GENERIC.search(text)
            if generic:
                place.address = _trim(generic.group(0))
        return place


def _address_at(text: str, hit: PlaceHit, hits: list[PlaceHit]) -> str:
    """From the earliest mention of an enclosing area just before the hit, through the
    house number and side (文化路28号楼下)."""
    start = hit.start
    for other in hits:
        if other.end <= hit.start and hit.start - other.end <= 2:
            start = min(start, other.start)
    tail = _TAIL.match(text, hit.end)
    end = tail.end() if tail else hit.end
    return text[start:end].strip()


def _landmark(text: str) -> str | None:
    m = _LANDMARK.search(text)
    return _trim(m.group(0)) if m else None


def _trim(value: str) -> str:
    return value.strip().lstrip("就那这个").strip() or value
