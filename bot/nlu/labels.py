"""Labels of historical work orders, at any depth, in this taxonomy's terms.

An agency labels its work orders its own way: our codes (env.noise), our names at one or two
levels (环境保护, 噪声扰民, 环境保护/噪声扰民), or its own scheme of any depth
(城管问题/市容环境/占道经营, 城管问题>占道经营). `LabelResolver` understands the first kinds;
a `LabelMap` (`bot train --label-map FILE`) translates the agency's own labels into them.
A label resolves to a `Label`: the first level always, the category code when the label names
the second level.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.catalog import Catalog

# Path separators agencies use between levels; "-" is not one (it occurs inside names).
_SEPARATORS = re.compile(r"\s*(?:/|／|>|＞|›|»|→|\\|\||｜|》)+\s*")
_BLANKS = re.compile(r"\s+")


class LabelMapError(ValueError):
    """The label map cannot be read or maps to something the taxonomy does not have."""


@dataclass(frozen=True)
class Label:
    level1: str
    code: str | None   # None when the label only names the first level

    @property
    def depth(self) -> int:
        return 1 if self.code is None else 2


def normalize(raw: str | None) -> str:
    """One spelling of a label path: no blanks, levels joined by "/"."""
    value = _BLANKS.sub("", str(raw or "")).strip()
    value = _SEPARATORS.sub("/", value).strip("/")
    return value


class LabelResolver:
    """Codes, 二级 names and 一级 names of the taxonomy, at any position of a label path."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.level1 = {c.level1 for c in catalog.categories.values()}
        self.by_level2: dict[str, list[str]] = {}
        for c in catalog.categories.values():
            self.by_level2.setdefault(c.level2, []).append(c.code)

    def resolve(self, raw: str | None) -> Label | None:
        """A code, a 一级 or 二级 name, or a path of names; the deepest name we know wins, and a
        一级 name in the path picks among 二级 names that several first levels share."""
        value = normalize(raw)
        if not value:
            return None
        if value in self.catalog.categories:
            return self._label(value)
        segments = value.split("/")
        level1 = next((s for s in segments if s in self.level1), None)
        for segment in reversed(segments):
            if segment in self.catalog.categories:
                return self._label(segment)
            codes = self.by_level2.get(segment, [])
            if level1 is not None:
                codes = [c for c in codes if self.catalog.categories[c].level1 == level1]
            if codes:
                return self._label(codes[0])
        return Label(level1, None) if level1 is not None else None

    def _label(self, code: str) -> Label:
        return Label(self.catalog.categories[code].level1, code)


class LabelMap:
    """An agency's labels → our codes or names (`--label-map`, YAML or CSV/Excel).

    YAML: a mapping `{their label: our code or name}` (optionally under a `labels:` key).
    CSV/Excel: the first two columns (a header row first). Keys match after `normalize`:
    the whole path, else its longest mapped beginning (a map of 城管问题 covers every
    城管问题/… label), else its last level alone.
    """

    def __init__(self, entries: dict[str, str], resolver: LabelResolver) -> None:
        self.targets: dict[str, Label] = {}
        bad = []
        for source, target in entries.items():
            key = normalize(source)
            label = resolver.resolve(target)
            if not key:
                continue
            if label is None:
                bad.append(f"{source} → {target}")
                continue
            self.targets[key] = label
        if bad:
            raise LabelMapError(
                f"标签对照表里有 {len(bad)} 项对应到分类表中不存在的分类：{'；'.join(bad[:5])} "
                f"(the label map points to categories the taxonomy does not have)")
        if not self.targets:
            raise LabelMapError("标签对照表是空的 (the label map is empty)")

    @classmethod
    def load(cls, path: Path, resolver: LabelResolver) -> "LabelMap":
        path = Path(path)
        if not path.is_file():
            raise LabelMapError(f"找不到标签对照表：{path} (label map not found)")
        if path.suffix.lower() in (".yml", ".yaml"):
            try:
                doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise LabelMapError(f"标签对照表无法读取：{path} (label map is not valid "
                                    f"UTF-8 YAML: {str(exc).splitlines()[0]})") from None
            if isinstance(doc, dict) and isinstance(doc.get("labels"), dict):
                doc = doc["labels"]
            if not isinstance(doc, dict):
                raise LabelMapError(f"标签对照表应是“原标签: 分类”的映射：{path} "
                                    f"(label map must be a YAML mapping)")
            entries = {str(k): str(v) for k, v in doc.items() if k is not None and v is not None}
        else:
            from bot.nlu.tabular import TableError, read_rows

            try:
                rows = read_rows(path)
            except TableError as exc:
                raise LabelMapError(str(exc)) from None
            entries = {}
            for row in rows:
                values = list(row.values())
                if len(values) >= 2 and values[0] and values[1]:
                    entries[values[0]] = values[1]
        return cls(entries, resolver)

    def lookup(self, raw: str | None) -> Label | None:
        value = normalize(raw)
        if not value:
            return None
        segments = value.split("/")
        for n in range(len(segments), 0, -1):
            label = self.targets.get("/".join(segments[:n]))
            if label is not None:
                return label
        return self.targets.get(segments[-1])

