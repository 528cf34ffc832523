"""Reference data read from data files: the taxonomy, the areas of the county and its bodies.

Nothing about a particular county is in code: everything comes from `data/taxonomy.yml`
and `data/county/*.yml`. Routing (category × area → body and agent) lives here because it is
a pure function of that data.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

TIERS = ("grid", "point", "station", "center")
AGENT_TIERS = ("point", "station", "center")
KINDS = ("demand", "errand", "petition", "consult")


class CatalogError(ValueError):
    """The data files are inconsistent."""


@dataclass(frozen=True)
class TimeLimits:
    sign_hours: float
    contact_hours: float
    resolve_hours: float | None = None
    resolve_working_days: int | None = None

    def describe(self) -> str:
        if self.resolve_working_days is not None:
            return f"{self.resolve_working_days}个工作日"
        return f"{self.resolve_hours:g}小时"


@dataclass(frozen=True)
class Category:
    code: str
    level1: str
    level2: str
    kind: str
    limits_name: str
    limits: TimeLimits
    function: str
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.level1}/{self.level2}"


@dataclass(frozen=True)
class Agent:
    code: str
    name: str
    area: str


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    tier: str
    parent: str | None
    place: str = ""
    names: tuple[str, ...] = ()
    agent: str | None = None


@dataclass(frozen=True)
class Body:
    code: str
    name: str
    area: str
    functions: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    body: Body
    agent: Agent
    tier: str


@dataclass
class Catalog:
    categories: dict[str, Category]
    areas: dict[str, Area]
    bodies: dict[str, Body]
    agents: dict[str, Agent]
    limits: dict[str, TimeLimits] = field(default_factory=dict)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, data_dir: Path) -> "Catalog":
        taxonomy = _read_yaml(data_dir / "taxonomy.yml")
        areas_doc = _read_yaml(data_dir / "county" / "areas.yml")
        bodies_doc = _read_yaml(data_dir / "county" / "bodies.yml")

        limits = {name: TimeLimits(**spec) for name, spec in taxonomy["time_limits"].items()}
        categories: dict[str, Category] = {}
        for raw in taxonomy["categories"]:
            code = raw["code"]
            if code in categories:
                raise CatalogError(f"duplicate category {code}")
            if raw["kind"] not in KINDS:
                raise CatalogError(f"category {code}: unknown kind {raw['kind']}")
            if raw["limits"] not in limits:
                raise CatalogError(f"category {code}: unknown limits {raw['limits']}")
            categories[code] = Category(
                code=code, level1=raw["level1"], level2=raw["level2"], kind=raw["kind"],
                limits_name=raw["limits"], limits=limits[raw["limits"]], function=raw["body"],
                keywords=tuple(raw.get("keywords", ())), examples=tuple(raw.get("examples", ())),
            )

        areas: dict[str, Area] = {}
        agents: dict[str, Agent] = {}

        def add(node: dict, tier: str, parent: str | None) -> None:
            code = node["code"]
            if code in areas:
                raise CatalogError(f"duplicate area {code}")
            agent = node.get("agent")
            if agent:
                agents[agent["code"]] = Agent(agent["code"], agent["name"], code)
            areas[code] = Area(code, node["name"], tier, parent, node.get("place", node["name"]),
                               tuple(node.get("names", ())), agent["code"] if agent else None)
            child_key = {"center": "stations", "station": "points", "point": "grids"}.get(tier)
            child_tier = {"center": "station", "station": "point", "point": "grid"}.get(tier)
            for child in node.get(child_key, ()) if child_key else ():
                add(child, child_tier, code)

        add(areas_doc["center"], "center", None)

        bodies: dict[str, Body] = {}
        for raw in bodies_doc["bodies"]:
            if raw["area"] not in areas:
                raise CatalogError(f"body {raw['code']}: unknown area {raw['area']}")
            bodies[raw["code"]] = Body(raw["code"], raw["name"], raw["area"], tuple(raw["functions"]))

        catalog = cls(categories, areas, bodies, agents, limits)
        catalog._check_routes()
        return catalog

    def _check_routes(self) -> None:
        center = self.center.code
        for category in self.categories.values():
            if self._body_for(category.function, center) is None:
                raise CatalogError(f"no body serves {category.function} at the center")

    # ------------------------------------------------------------------ areas
    @cached_property
    def center(self) -> Area:
        return next(a for a in self.areas.values() if a.tier == "center")

    def lineage(self, area_code: str | None) -> list[Area]:
        """The area and its ancestors, nearest first; only the center for no area."""
        if area_code is None:
            return [self.center]
        chain, code = [], area_code
        while code is not None:
            area = self.areas[code]
            chain.append(area)
            code = area.parent
        return chain

    def subtree(self, code: str, keep: Callable[[Area], bool] = lambda area: True) -> set[str]:
        """The area and the areas below it; `keep` prunes a child (and what is below it)."""
        found, todo = {code}, [code]
        while todo:
            parent = todo.pop()
            for area in self.areas.values():
                if area.parent == parent and area.code not in found and keep(area):
                    found.add(area.code)
                    todo.append(area.code)
        return found

    def ancestor_at(self, area_code: str | None, tier: str) -> Area:
        for area in self.lineage(area_code):
            if TIERS.index(area.tier) >= TIERS.index(tier):
                return area
        return self.center

    def next_tier(self, tier: str) -> str | None:
        index = AGENT_TIERS.index(tier)
        return AGENT_TIERS[index + 1] if index + 1 < len(AGENT_TIERS) else None

    # ------------------------------------------------------------------ routing
    def body_for(self, function: str, area_code: str | None) -> Body | None:
        """The body serving `function` nearest above `area_code` (the center for None)."""
        return self._body_for(function, area_code or self.center.code)

    def _body_for(self, function: str, area_code: str) -> Body | None:
        lineage = [a.code for a in self.lineage(area_code)]
        best: tuple[int, Body] | None = None
        for body in self.bodies.values():
            if function in body.functions and body.area in lineage:
                depth = lineage.index(body.area)
                if best is None or depth < best[0]:
                    best = (depth, body)
        return best[1] if best else None

    def agent_at(self, area_code: str | None, tier: str) -> Agent:
        area = self.ancestor_at(area_code, tier)
        for candidate in self.lineage(area.code):
            if candidate.agent:
                return self.agents[candidate.agent]
        raise CatalogError(f"no agent above area {area_code}")

    def initial_tier(self, area_code: str | None) -> str:
        if area_code is None:
            return "center"
        tier = self.areas[area_code].tier
        return "point" if tier == "grid" else tier

    def route(self, category_code: str, area_code: str | None, tier: str | None = None) -> Route:
        category = self.categories[category_code]
        tier = tier or self.initial_tier(area_code)
        body = self._body_for(category.function, area_code or self.center.code)
        assert body is not None  # guaranteed by _check_routes
        return Route(body=body, agent=self.agent_at(area_code, tier), tier=tier)

    def resolve_target(self, value: str) -> Body | Agent:
        """`--to` of a transfer: a body code or name, or an agent code or name."""
        for table in (self.bodies, self.agents):
            if value in table:
                return table[value]
            for item in table.values():
                if item.name == value:
                    return item
        raise KeyError(value)


def _read_yaml(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as exc:
        raise CatalogError(f"missing data file {path}") from exc
