"""Hot spots (预警): many residents raising the same matter in one neighbourhood within a few days.

Two cases look like the same matter when they are in the same or a neighbouring area
(`bot.cases.similar.neighbourhood`: the area's parent and all below it) and their texts are
alike (a TF-IDF cosine, IDF over the window, over the character bigrams of
`bot.intake.duplicates` and single characters too: residents who put one matter in their own
words share its characters more than its bigrams, 主水管破裂 / 主管道漏水) at
`HotspotRules.min_score` or more, the cosine weighed by how related their categories are (the
same: fully; a sibling of the same 一级: `similar.SIBLING_WEIGHT`; another 一级:
`OTHER_LEVEL1_WEIGHT`, for one matter two operators filed apart) and by `PLACE_CONFLICT` when
both texts name a road, street, village or compound (by its suffix, or one of the county's own
place names in data/county/areas.yml) and no name in common: the same complaint about two roads
is two matters. Cases are compared within one 站 (a hot spot never spans two 站). A
hot spot is a group (average-linkage clustering, see `_clusters`) of such cases opened within
`window_days` (merged cases are already counted at their target and left out) that holds at
least `min_cases` residents: repeated calls from one resident (same channel and address) count
once; its 一级 is that of its commonest category.

Detection (`detect`) only reads and is what the dashboard shows. `scan(..., raise_alerts=True)`
(the `bot hotspots --raise` command, run on a timer) keeps one `hotspot_alerts` row per hot
spot, grows it as cases join, and tells the supervisors once per alert with an internal note
(内部备注, actor `system:hotspots`) on the newest case, which every supervisor's queue and the
case page show. Thresholds come from the environment: HOTSPOT_MIN_CASES (5),
HOTSPOT_WINDOW_DAYS (7), HOTSPOT_MIN_SCORE (0.28), HOTSPOT_GROUPS_FACTOR (0.6).

A supervisor acts on an alert by 并单 (`merge_all`: the other cases join one of them and follow
it) or by 联合办理 (`open_joint`: one joint case, with no resident of its own, goes to a body
and its cases join it; each keeps its number and resident, hears the joint case's replies and
is resolved with it, see `CaseService`). A joint case is never itself counted in a hot spot;
its members still are (they are residents' reports), so the alert keeps growing and a later
case of it can join the same joint case.
"""
from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (JSON, BigInteger, Column, DateTime, Index, Integer, MetaData, String,
                        Table, false, insert, select, update)

from bot.cases.errors import CaseError, InvalidInput
from bot.cases.lifecycle import OPEN_STATES, STATE_LABELS, State
from bot.cases.models import CaseRow
from bot.cases.service import CaseService, OpenCase
from bot.cases.similar import SIBLING_WEIGHT, neighbourhood
from bot.cases.views import iso
from bot.intake.duplicates import bigrams, matter_text
from bot.privacy import mask_text

ACTOR = "system:hotspots"
OTHER_LEVEL1_WEIGHT = 0.6
# Weights and thresholds chosen on generated months of bench/hotspots.py (with its near-miss
# decoys) with seeds 1-12 and measured on its default seeds 21-25, never used for tuning.
PLACE_CONFLICT = 0.3
_RUNS = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+")
PLACE_NAME = re.compile(r"[\u4e00-\u9fff]{1,5}?(?:大道|大街|路|街|巷|村|小区|花园|家园|新城|公寓|苑|宿舍)")
BigId = BigInteger().with_variant(Integer(), "sqlite")
metadata = MetaData()

hotspot_alerts = Table(
    "hotspot_alerts", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("raised_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("level1", String(50), nullable=False),
    Column("category_code", String(64), nullable=False),   # the cluster's commonest category
    Column("area_code", String(32)),                       # the nearest area holding them all
    Column("first_at", DateTime, nullable=False),
    Column("last_at", DateTime, nullable=False),
    Column("residents", Integer, nullable=False),
    Column("case_numbers", JSON, nullable=False),
    Column("note_case", String(32)),                       # where the supervisors were told
    Column("status", String(16), nullable=False, default="open"),   # open | merged
    Index("ix_hotspot_alerts_last", "status", "last_at"),
)


@dataclass(frozen=True)
class HotspotRules:
    min_cases: int = 5          # residents (repeat callers once) that make a hot spot
    window_days: float = 7.0
    min_score: float = 0.28     # text likeness for "the same matter"
    # Two groups (not single cases) join at this share of min_score: people describing one
    # matter in two ways make two groups of texts less alike across than within.
    groups_factor: float = 0.6

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "HotspotRules":
        env = os.environ if environ is None else environ
        return cls(int(env.get("HOTSPOT_MIN_CASES", cls.min_cases)),
                   float(env.get("HOTSPOT_WINDOW_DAYS", cls.window_days)),
                   float(env.get("HOTSPOT_MIN_SCORE", cls.min_score)),
                   float(env.get("HOTSPOT_GROUPS_FACTOR", cls.groups_factor)))


@dataclass(frozen=True)
class _Case:
    id: int
    number: str
    category: str
    area: str | None
    body: str | None
    resident: str               # channel+address, or the case itself when unknown
    text: str
    summary: str
    state: str
    created_at: datetime
    joint_id: int | None = None  # the joint case it is in (联合办理)


@dataclass
class Hotspot:
    cases: list[_Case]          # oldest first
    residents: int
    level1: str
    category: str
    area: str | None
    alert_id: int | None = None
    joints: dict[int, str] | None = None   # joint case id -> number, of the cases' joint cases

    @property
    def numbers(self) -> list[str]:
        return [c.number for c in self.cases]

    def to_dict(self, catalog) -> dict:
        category = catalog.categories[self.category]
        area = catalog.areas.get(self.area) if self.area else None
        return {
            "alert_id": self.alert_id, "raised": self.alert_id is not None,
            "residents": self.residents, "cases_count": len(self.cases),
            "level1": self.level1,
            "category": {"code": category.code, "level1": category.level1,
                         "level2": category.level2},
            "area": {"code": area.code, "name": area.name, "tier": area.tier} if area else None,
            "first_at": iso(self.cases[0].created_at), "last_at": iso(self.cases[-1].created_at),
            "bodies": sorted({c.body for c in self.cases if c.body}),
            "joint_case": self.joint_case,
            "cases": [{"number": c.number, "summary": mask_text(c.summary), "state": c.state,
                       "state_label": STATE_LABELS[State(c.state)],
                       "area": c.area, "category": c.category,
                       "joint_case": (self.joints or {}).get(c.joint_id),
                       "created_at": iso(c.created_at)} for c in self.cases],
        }

    @property
    def joint_case(self) -> str | None:
        """The joint case most of its cases are in, if any."""
        held = Counter(c.joint_id for c in self.cases if c.joint_id in (self.joints or {}))
        return self.joints[held.most_common(1)[0][0]] if held else None


def detect(service: CaseService, rules: HotspotRules | None = None, *,
           now: datetime | None = None, body: str | None = None) -> list[Hotspot]:
    """The hot spots of the window ending `now` (inclusive), most residents first. With `body`, only
    those holding at least one case of that body."""
    rules = rules or HotspotRules.from_env()
    now = now or service.clock()
    cases = _window(service, now - timedelta(days=rules.window_days), now)
    catalog = service.catalog
    groups: dict[str, list[_Case]] = {}
    for case in cases:
        groups.setdefault(_station(catalog, case.area), []).append(case)
    corpus = [_grams(c.text) for c in cases]       # IDF over the window: boilerplate weighs little
    found = []
    for group in groups.values():
        for members in _clusters(group, _scores(group, catalog, corpus), rules):
            residents = len({c.resident for c in members})
            if residents < rules.min_cases:
                continue
            members.sort(key=lambda c: (c.created_at, c.id))
            category = Counter(c.category for c in members).most_common(1)[0][0]
            found.append(Hotspot(members, residents, catalog.categories[category].level1, category,
                                 _common_area(catalog, [c.area for c in members])))
    found = [h for h in found if body is None or any(c.body == body for c in h.cases)]
    found.sort(key=lambda h: (-h.residents, h.cases[0].created_at))
    _attach_alerts(service, found)
    _attach_joints(service, found)
    return found


def scan(service: CaseService, rules: HotspotRules | None = None, *,
         now: datetime | None = None, raise_alerts: bool = False) -> list[Hotspot]:
    """Detect, and with `raise_alerts` record new hot spots and tell the supervisors."""
    now = now or service.clock()
    found = detect(service, rules, now=now)
    if raise_alerts:
        for spot in found:
            _raise(service, spot, now)
    return found


def alerts(service: CaseService, *, since: datetime | None = None, limit: int = 100) -> list[dict]:
    """Recorded alerts, newest activity first."""
    stmt = select(hotspot_alerts).order_by(hotspot_alerts.c.last_at.desc()).limit(limit)
    if since is not None:
        stmt = stmt.where(hotspot_alerts.c.last_at >= since)
    with service.session_factory() as session:
        return [dict(r._mapping) for r in session.execute(stmt)]


def merge_all(service: CaseService, alert_id: int, into: str, *, actor: str) -> dict:
    """并单 in one click: every other open case of the alert joins `into`; what could not
    (finished cases, or ones merged already) is listed with the reason."""
    with service.session_factory() as session:
        row = session.execute(select(hotspot_alerts).where(hotspot_alerts.c.id == alert_id)).first()
    if row is None or into not in row.case_numbers:
        return {"merged": [], "skipped": [], "found": row is not None}
    merged, skipped = [], []
    for number in row.case_numbers:
        if number == into:
            continue
        try:
            service.act(number, "merge", to=into, actor=actor,
                        text=f"预警 #{alert_id}：同一事项并入 {into}")
            merged.append(number)
        except Exception as exc:  # noqa: BLE001 - each refusal is reported, the rest go on
            skipped.append({"number": number, "reason": getattr(exc, "zh", "无法并单")})
    if merged:
        with service.session_factory.begin() as session:
            session.execute(update(hotspot_alerts).where(hotspot_alerts.c.id == alert_id)
                            .values(status="merged", updated_at=service.clock()))
    return {"merged": merged, "skipped": skipped, "found": True}


JOINT_KEY = "joint:alert:{}"      # one joint case per alert, however often it is asked for


def open_joint(service: CaseService, alert_id: int, *, body: str | None = None,
               actor: str) -> dict:
    """联合办理 in one click: the alert's joint case (the open one its cases are in already, else
    one opened for the alert, once however often this is called) goes to `body` (by default the
    body most of the open cases are with) and every open case of the alert joins it; what could
    not join (finished, merged, or in a joint case already) is listed with the reason."""
    with service.session_factory() as session:
        row = session.execute(select(hotspot_alerts).where(hotspot_alerts.c.id == alert_id)).first()
        if row is None:
            return {"found": False}
        cases = session.execute(select(CaseRow.number, CaseRow.state, CaseRow.body_code,
                                       CaseRow.joint_case_id)
                                .where(CaseRow.number.in_(row.case_numbers))
                                .order_by(CaseRow.id)).all()
        held = Counter(c.joint_case_id for c in cases if c.joint_case_id)
        joint = next((number for number in (session.scalar(
            select(CaseRow.number).where(CaseRow.id == joint_id, CaseRow.state.in_(
                [s.value for s in OPEN_STATES]))) for joint_id, _ in held.most_common())
            if number), None)
    opened = False
    if joint is None:
        key = JOINT_KEY.format(alert_id)
        found = service.find_by_idempotency_key(key)
        if found is None:
            body = body or _commonest_body(cases)
            if body is not None and body not in service.catalog.bodies:
                raise InvalidInput(f"unknown body {body!r}", f"未知的承办单位：{body}")
            found = service.open_case(_joint_request(service, row, cases, key, body, actor))
            opened = True
        joint = found.number
    joined, skipped = [], []
    for number in row.case_numbers:
        try:
            service.act(number, "join", to=joint, actor=actor)
            joined.append(number)
        except CaseError as exc:      # each refusal is reported, the rest go on
            skipped.append({"number": number, "reason": exc.zh})
    view = service.get(joint)
    return {"found": True, "joint": joint, "opened": opened, "body": view.body,
            "due_at": view.due_at, "joined": joined, "skipped": skipped}


def _commonest_body(cases) -> str | None:
    """The body most of the open cases are with (the oldest case's on a tie)."""
    bodies = Counter(c.body_code for c in cases
                     if c.body_code and State(c.state) in OPEN_STATES)
    return bodies.most_common(1)[0][0] if bodies else None


def _joint_request(service: CaseService, row, cases, key: str, body: str | None,
                   actor: str) -> OpenCase:
    category = service.catalog.categories[row.category_code]
    where = _where(service, row.area_code)
    with service.session_factory() as session:
        summaries = dict(session.execute(select(CaseRow.number, CaseRow.summary)
                                         .where(CaseRow.number.in_(row.case_numbers))).all())
    listed = "\n".join(f"{c.number}：{mask_text(summaries.get(c.number, ''))}" for c in cases[:20])
    more = f"\n……共 {len(cases)} 件" if len(cases) > 20 else ""
    text = (f"【联合办理】预警 #{row.id}：{where}有 {row.residents} 位群众反映同一{category.level1}"
            f"问题（{category.level2}），共 {len(cases)} 件，请统一办理；办理结果会告知每位群众。\n"
            f"{listed}{more}")
    return OpenCase(text=text, category=category.code, area=row.area_code,
                    summary=f"联合办理：{where}{category.level2}（{row.residents} 位群众，预警 #{row.id}）",
                    idempotency_key=key, actor=actor, assign_to=body, joint=True)


# --------------------------------------------------------------------------- internals
def _window(service: CaseService, since: datetime, until: datetime) -> list[_Case]:
    stmt = (select(CaseRow.id, CaseRow.number, CaseRow.category_code, CaseRow.area_code,
                   CaseRow.body_code, CaseRow.channel, CaseRow.address, CaseRow.text,
                   CaseRow.summary, CaseRow.state, CaseRow.created_at, CaseRow.joint_case_id)
            .where(CaseRow.created_at >= since, CaseRow.created_at <= until,
                   CaseRow.state != State.MERGED.value, CaseRow.joint == false())
            .order_by(CaseRow.id))
    with service.session_factory() as session:
        rows = session.execute(stmt).all()
    return [_Case(r.id, r.number, r.category_code, r.area_code, r.body_code,
                  f"{r.channel}:{r.address}" if r.channel and r.address else f"case:{r.number}",
                  matter_text(r.summary, r.text), r.summary, r.state, r.created_at,
                  r.joint_case_id)
            for r in rows]


def _scores(group: list[_Case], catalog, corpus) -> dict[int, dict[int, float]]:
    """Likeness of each pair of near cases (by index, both ways): the text cosine (IDF over
    `corpus`), a sibling category weighed down; pairs of far areas are left out."""
    near = {}
    for case in group:
        if case.area not in near:
            near[case.area] = neighbourhood(catalog, case.area)
    vectors = _vectors([_grams(c.text) for c in group], corpus)
    known = known_places(catalog)
    places = [named_places(c.text, known) for c in group]
    scores: dict[int, dict[int, float]] = {i: {} for i in range(len(group))}
    for i, case in enumerate(group):
        zone = near[case.area]
        for j in range(i + 1, len(group)):
            other = group[j]
            if not (zone is None or other.area in zone or near[other.area] is None
                    or case.area in near[other.area]):
                continue
            score = _cosine(vectors[i], vectors[j]) * _category_weight(catalog, case.category,
                                                                      other.category)
            if places[i] and places[j] and not _same_place(places[i], places[j]):
                score *= PLACE_CONFLICT
            if score > 0:
                scores[i][j] = scores[j][i] = score
    return scores


def _grams(text: str) -> Counter:
    """What a text is compared by: its character bigrams (`duplicates.bigrams`) and its single
    characters, kept apart from the one-character runs `bigrams` counts."""
    grams = bigrams(text)
    for run in _RUNS.findall(text.lower()):
        if len(run) > 1:
            grams.update("\0" + ch for ch in run)
    return grams


def _vectors(grams: list[Counter], corpus: list[Counter]) -> list[tuple[dict[str, float], float]]:
    """TF-IDF weights (IDF over `corpus`, as intake duplicates weigh them) and norms."""
    n, df = len(corpus), Counter()
    for v in corpus:
        df.update(v.keys())
    out = []
    for v in grams:
        w = {g: (1 + math.log(c)) * (math.log((n + 1) / (df.get(g, 0) + 1)) + 1)
             for g, c in v.items()}
        out.append((w, math.sqrt(sum(x * x for x in w.values())) or 1.0))
    return out


def _cosine(a: tuple[dict[str, float], float], b: tuple[dict[str, float], float]) -> float:
    (aw, an), (bw, bn) = (a, b) if len(a[0]) <= len(b[0]) else (b, a)
    return sum(w * bw.get(g, 0.0) for g, w in aw.items()) / (an * bn)


def _category_weight(catalog, one: str, other: str) -> float:
    """The same category counts fully; a sibling of the same 一级 less; another 一级 (a 路灯
    filed under roads by one operator and under municipal facilities by another) least."""
    if one == other:
        return 1.0
    same_level1 = catalog.categories[one].level1 == catalog.categories[other].level1
    return SIBLING_WEIGHT if same_level1 else OTHER_LEVEL1_WEIGHT


def named_places(text: str, known: tuple[str, ...] = ()) -> frozenset[str]:
    """The roads, streets, villages and compounds a text names (as written), and those of the
    `known` names it holds (幸福里 has no suffix to find it by)."""
    return frozenset({m.group(0) for m in PLACE_NAME.finditer(text)}
                     | {name for name in known if name in text})


def known_places(catalog) -> tuple[str, ...]:
    """The county's names of its points and grids (their place and other spellings)."""
    return tuple(sorted({n for a in catalog.areas.values() if a.tier in ("point", "grid")
                         for n in (a.place, *a.names) if len(n) >= 2}))


def _same_place(ones: frozenset[str], others: frozenset[str]) -> bool:
    """Some name of one text is some name of the other: they end alike for three characters
    (the match starts wherever the text did, "我住在建设街" and "建设街" are one street)."""
    return any(_common_tail(a, b) >= min(3, len(a), len(b)) for a in ones for b in others)


def _common_tail(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def _clusters(group: list[_Case], scores: dict[int, dict[int, float]],
              rules: HotspotRules) -> list[list[_Case]]:
    """Average-linkage clustering: join the two groups whose cases are most alike on average
    (above the floor: `min_score` for a single case, less between two groups) while one is
    above its floor; a single look-alike pair cannot chain two matters together."""
    members = {i: [i] for i in range(len(group))}
    sums = {i: dict(row) for i, row in scores.items()}
    while True:
        best, pair = 0.0, None
        for a, row in sums.items():
            for b, total in row.items():
                if a < b:
                    mean = total / (len(members[a]) * len(members[b]))
                    floor = rules.min_score if min(len(members[a]), len(members[b])) == 1 \
                        else rules.min_score * rules.groups_factor
                    if mean >= floor and mean - floor >= best:
                        best, pair = mean - floor, (a, b)
        if pair is None:
            break
        a, b = pair
        members[a] += members.pop(b)
        for k, total in sums.pop(b).items():
            if k == a:
                continue
            sums[a][k] = sums[a].get(k, 0.0) + total
            sums[k][a] = sums[k].get(a, 0.0) + total
            del sums[k][b]
        sums[a].pop(b, None)
    return [[group[i] for i in m] for m in members.values() if len(m) > 1]


def _station(catalog, area: str | None) -> str:
    """The 站 an area lies in ("C" at the center or without an area): a hot spot stays in one."""
    if area is None or area not in catalog.areas or catalog.areas[area].tier == "center":
        return "C"
    return catalog.ancestor_at(area, "station").code


def _common_area(catalog, areas: list[str | None]) -> str | None:
    """The nearest area that holds every case's area (the center when any has none)."""
    chains = [[a.code for a in catalog.lineage(a)] if a is None or a in catalog.areas else [a]
              for a in areas]
    shared = set(chains[0]).intersection(*chains[1:])
    return next((code for code in chains[0] if code in shared), None)


def _attach_alerts(service: CaseService, spots: list[Hotspot]) -> None:
    """Give each hot spot the id of the open alert that already holds one of its cases."""
    if not spots:
        return
    with service.session_factory() as session:
        rows = session.execute(select(hotspot_alerts.c.id, hotspot_alerts.c.case_numbers)
                               .where(hotspot_alerts.c.status == "open",
                                      hotspot_alerts.c.last_at >= spots[-1].cases[0].created_at
                                      - timedelta(days=60))).all()
    for spot in spots:
        numbers = set(spot.numbers)
        spot.alert_id = next((r.id for r in rows if numbers & set(r.case_numbers)), None)


def _attach_joints(service: CaseService, spots: list[Hotspot]) -> None:
    """Give each hot spot the numbers of the joint cases its cases are in."""
    ids = {c.joint_id for spot in spots for c in spot.cases if c.joint_id}
    numbers: dict[int, str] = {}
    if ids:
        with service.session_factory() as session:
            numbers = dict(session.execute(select(CaseRow.id, CaseRow.number)
                                           .where(CaseRow.id.in_(ids))).all())
    for spot in spots:
        spot.joints = numbers


def _where(service: CaseService, area_code: str | None) -> str:
    area = service.catalog.areas.get(area_code) if area_code else None
    return area.name if area else "全县"


def _raise(service: CaseService, spot: Hotspot, now: datetime) -> None:
    values = dict(updated_at=now, level1=spot.level1, category_code=spot.category,
                  area_code=spot.area, first_at=spot.cases[0].created_at,
                  last_at=spot.cases[-1].created_at, residents=spot.residents)
    with service.session_factory.begin() as session:
        if spot.alert_id is not None:
            held = session.scalar(select(hotspot_alerts.c.case_numbers)
                                  .where(hotspot_alerts.c.id == spot.alert_id))
            numbers = list(dict.fromkeys([*held, *spot.numbers]))
            session.execute(update(hotspot_alerts).where(hotspot_alerts.c.id == spot.alert_id)
                            .values(**values, case_numbers=numbers))
            return
        newest = spot.cases[-1].number
        spot.alert_id = session.execute(insert(hotspot_alerts).values(
            **values, raised_at=now, case_numbers=spot.numbers, note_case=newest,
            status="open").returning(hotspot_alerts.c.id)).scalar_one()
    service.act(newest, "note", actor=ACTOR, text=_note(service, spot))


def _note(service: CaseService, spot: Hotspot) -> str:
    where = _where(service, spot.area)
    days = max(1, (spot.cases[-1].created_at - spot.cases[0].created_at).days + 1)
    listed = "、".join(spot.numbers[:20]) + ("等" if len(spot.numbers) > 20 else "")
    return (f"【预警 #{spot.alert_id}】{where}{days}天内有 {spot.residents} 位群众反映同类"
            f"{spot.level1}问题（共 {len(spot.cases)} 件：{listed}）。请督办关注，"
            f"可在督办看板一键并单或联合办理。")
