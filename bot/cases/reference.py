"""Copies the reference data of the data files into their tables (for keys and reports)."""
from __future__ import annotations

from dataclasses import asdict

from sqlalchemy.orm import Session

from bot.catalog import Catalog
from bot.cases.models import AgentRow, AreaRow, BodyRow, CategoryRow


def sync_reference(session: Session, catalog: Catalog) -> None:
    """Insert or update every area, agent, body and category; never delete (cases refer to them)."""
    # Parents before children so the self-reference of areas is always satisfied.
    for area in sorted(catalog.areas.values(), key=lambda a: ("center", "station", "point", "grid").index(a.tier)):
        session.merge(AreaRow(code=area.code, name=area.name, tier=area.tier, parent_code=area.parent))
    session.flush()
    for agent in catalog.agents.values():
        session.merge(AgentRow(code=agent.code, name=agent.name, area_code=agent.area))
    for body in catalog.bodies.values():
        session.merge(BodyRow(code=body.code, name=body.name, area_code=body.area,
                              functions=list(body.functions)))
    for category in catalog.categories.values():
        session.merge(CategoryRow(code=category.code, level1=category.level1,
                                  level2=category.level2, kind=category.kind,
                                  limits=asdict(category.limits), function=category.function))
