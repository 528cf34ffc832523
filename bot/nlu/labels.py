"""Labels of historical work orders: category codes, 二级 names or 一级 names."""
from __future__ import annotations

from dataclasses import dataclass

from bot.catalog import Catalog


@dataclass(frozen=True)
class Label:
    level1: str
    code: str | None   # None when the label only names the first level


class LabelResolver:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.level1 = {c.level1 for c in catalog.categories.values()}
        self.by_level2: dict[str, str] = {}
        for c in catalog.categories.values():
            self.by_level2.setdefault(c.level2, c.code)
            self.by_level2.setdefault(c.label, c.code)

    def resolve(self, raw: str | None) -> Label | None:
        """A label from a code (env.noise), 一级/二级 (环境保护/噪声扰民), 二级 or 一级 name."""
        value = (raw or "").strip().replace("／", "/").replace(" ", "")
        if not value:
            return None
        if value in self.catalog.categories:
            return Label(self.catalog.categories[value].level1, value)
        if value in self.by_level2:
            code = self.by_level2[value]
            return Label(self.catalog.categories[code].level1, code)
        if "/" in value:
            level1, _, level2 = value.partition("/")
            if level2 in self.by_level2:
                code = self.by_level2[level2]
                return Label(self.catalog.categories[code].level1, code)
            value = level1
        if value in self.level1:
            return Label(value, None)
        return None
