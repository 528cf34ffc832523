"""The real development set: residents' messages to a government message board.

The messages live outside the repository (`../shared/data/gov-messages/messages.csv`, see its
README) and are never copied into it; `data/devsets/gov_messages.yml` maps the board's domains
to this project's first-level classes and its message types to 12345 types. Benchmarks and
tests read the set through `load()`; models are never trained on it except where a benchmark
says so (the baseline's 80% split).
"""
from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.settings import ROOT

DATA_DIR = ROOT.parent / "shared" / "data" / "gov-messages"
CSV_PATH = DATA_DIR / "messages.csv"
MAPPING_PATH = ROOT / "data" / "devsets" / "gov_messages.yml"


class DevSetMissing(FileNotFoundError):
    """The development set is not on this machine."""


@dataclass(frozen=True)
class DevRow:
    id: str
    text: str
    domain: str            # the board's 问题领域, "" when missing
    level1: str | None     # our 一级分类, None when the domain is excluded
    kind: str              # the board's 问题类型: 建言 | 投诉/求助 | 咨询
    types: tuple[str, ...]  # the 12345 types that count as right for `kind`


@dataclass(frozen=True)
class Mapping:
    level1: dict[str, str]     # domain → 一级分类
    excluded: dict[str, str]   # domain → why it is not scored
    types: dict[str, tuple[str, ...]]

    @classmethod
    def load(cls, path: Path = MAPPING_PATH) -> "Mapping":
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        level1, excluded = {}, {}
        for domain, entry in doc["domains"].items():
            domain = "" if domain is None else str(domain)
            if "level1" in entry:
                level1[domain] = entry["level1"]
            elif entry.get("excluded"):
                excluded[domain] = entry["excluded"]
            else:
                raise ValueError(f"{path}: domain {domain!r} has neither level1 nor excluded")
        types = {kind: tuple(values) for kind, values in doc["kinds"].items()}
        return cls(level1, excluded, types)

    def covers(self, domain: str) -> bool:
        return domain in self.level1 or domain in self.excluded


def load(path: Path = CSV_PATH, mapping: Mapping | None = None) -> list[DevRow]:
    """Every row of the set, in file order. Raises DevSetMissing when the file is absent and
    ValueError when a domain or kind is not in the mapping (the mapping must say what it does
    with every value)."""
    path = Path(path)
    if not path.is_file():
        raise DevSetMissing(
            f"the development set is not at {path}: it lives outside the repository, in "
            f"../shared/data/gov-messages/ (see data/devsets/gov_messages.yml)")
    mapping = mapping or Mapping.load()
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for raw in csv.DictReader(handle):
            domain, kind = (raw.get("domain") or "").strip(), (raw.get("kind") or "").strip()
            if not mapping.covers(domain):
                raise ValueError(f"domain {domain!r} of row {raw.get('id')} is not in {MAPPING_PATH.name}")
            if kind not in mapping.types:
                raise ValueError(f"kind {kind!r} of row {raw.get('id')} is not in {MAPPING_PATH.name}")
            rows.append(DevRow(str(raw["id"]), raw["text"], domain, mapping.level1.get(domain),
                               kind, mapping.types[kind]))
    return rows


def labelled(rows: list[DevRow]) -> list[DevRow]:
    """The rows scored for the first level: those whose domain maps to one class."""
    return [row for row in rows if row.level1 is not None]


def sample(rows: list[DevRow], n: int, seed: int = 11) -> list[DevRow]:
    """A fixed, seeded sample of n rows (all of them when there are fewer), in file order."""
    if n >= len(rows):
        return list(rows)
    picked = sorted(random.Random(seed).sample(range(len(rows)), n))
    return [rows[i] for i in picked]


def level1_of(parse: dict, catalog) -> str:
    """The first-level class of a parse's best category (other.misc when there is none)."""
    ranking = parse.get("report_ranking") or []
    code = ranking[0].get("code") if ranking else None
    if code not in catalog.categories:
        code = "other.misc"
    return catalog.categories[code].level1
