"""Adopt an agency's own taxonomy from its work orders (`bot taxonomy import`).

The first two levels of the agency's labels become categories (一级, 二级); the most frequent
handling unit (承办单位) of each category becomes its default body. The result is a complete
data directory a center can run on — `taxonomy.yml`, `county/bodies.yml` (ours plus one body per
new unit, at the center) and copies of `county/areas.yml` and `services.yml` — switched to with
`BOT_DATA_DIR=<dir>` (bot/settings.py), e.g. `BOT_DATA_DIR=<dir> bot train --history F
--label-col C1,C2` and then `BOT_DATA_DIR=<dir> bot run`.

Codes are generated from the names alone (a hash), so importing the same scheme again, or a
later export of it, gives the same codes. A category whose two names are ours keeps our code
and settings. The categories the product itself relies on (emergencies, errands, the fallback)
are carried over from our taxonomy.
"""
from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.catalog import Catalog, CatalogError
from bot.nlu.labels import normalize
from bot.nlu.tabular import pick_column, read_table

# Codes the product refers to by name (actions/emergency.py, actions/errand.py, bot/nlu/rasa.py).
SYSTEM_CODES = ("security.emergency", "gov.service", "other.misc")
OTHER_LEVEL2 = "其他"
DEFAULT_LIMITS = "general"


class TaxonomyImportError(ValueError):
    """The history cannot give a taxonomy (no level columns, no labelled rows)."""


@dataclass
class ImportedCategory:
    code: str
    level1: str
    level2: str
    rows: int
    unit: str | None          # most frequent handling unit, None when the file names none
    body: str                 # body code it routes to at the center
    reused: bool = False      # our own category (same 一级 and 二级 names)


@dataclass
class TaxonomyImport:
    categories: list[ImportedCategory] = field(default_factory=list)
    new_bodies: list[dict] = field(default_factory=list)
    rows: int = 0
    skipped: int = 0           # rows without a first level
    out: Path | None = None

    def report(self) -> dict:
        return {"out": str(self.out), "rows": self.rows, "skipped_no_level1": self.skipped,
                "level1": len({c.level1 for c in self.categories}),
                "categories": [c.__dict__ for c in self.categories],
                "new_bodies": self.new_bodies}


def stable_code(level1: str, level2: str) -> str:
    """`x<5 hex of 一级>.<6 hex of 一级/二级>`: the same names give the same code everywhere."""
    first = hashlib.sha1(level1.encode("utf-8")).hexdigest()[:5]
    second = hashlib.sha1(f"{level1}/{level2}".encode("utf-8")).hexdigest()[:6]
    return f"x{first}.{second}"


def _levels(row: dict[str, str], columns: list[str]) -> tuple[str, str] | None:
    """(一级, 二级) of a row; one column may hold a whole path (城管问题/市容环境/占道经营)."""
    values = [normalize(row.get(c)) for c in columns]
    parts = [p for v in values if v for p in v.split("/") if p]
    if not parts:
        return None
    return parts[0], parts[1] if len(parts) > 1 else OTHER_LEVEL2


def import_taxonomy(paths: list[Path], level_cols: list[str], unit_col: str | None,
                    base_dir: Path, out: Path) -> TaxonomyImport:
    if not level_cols:
        raise TaxonomyImportError("请用 --level-cols 指定分类列 (name the level columns with --level-cols)")
    base = Catalog.load(base_dir)
    result = TaxonomyImport(out=Path(out))
    counts: Counter = Counter()
    units: dict[tuple[str, str], Counter] = {}
    for path in paths:
        rows = read_table(path).rows
        result.rows += len(rows)
        if not rows:
            continue
        columns = [pick_column(rows, c, (), "分类") for c in level_cols]
        ucol = pick_column(rows, unit_col, (), "承办单位") if unit_col else None
        for row in rows:
            levels = _levels(row, columns)
            if levels is None:
                result.skipped += 1
                continue
            counts[levels] += 1
            unit = " ".join((row.get(ucol) or "").split()) if ucol else ""
            if unit:
                units.setdefault(levels, Counter())[unit] += 1
    if not counts:
        raise TaxonomyImportError(f"历史工单里没有带分类的行（列：{', '.join(level_cols)}）"
                           f"(no row has a value in the level columns)")

    taxonomy = yaml.safe_load((Path(base_dir) / "taxonomy.yml").read_text(encoding="utf-8"))
    bodies_doc = yaml.safe_load((Path(base_dir) / "county" / "bodies.yml").read_text(encoding="utf-8"))
    ours = {(c.level1, c.level2): c for c in base.categories.values()}
    by_name = {b.name: b for b in base.bodies.values()}
    raw_by_code = {raw["code"]: raw for raw in taxonomy["categories"]}
    fallback = (raw_by_code.get("other.misc") or taxonomy["categories"][0])["body"]
    limits = DEFAULT_LIMITS if DEFAULT_LIMITS in taxonomy["time_limits"] else next(iter(taxonomy["time_limits"]))
    entries, new_bodies, seen_codes = [], {}, {}
    for (level1, level2), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1])):
        unit = units[(level1, level2)].most_common(1)[0][0] if (level1, level2) in units else None
        mine = ours.get((level1, level2))
        code = mine.code if mine else stable_code(level1, level2)
        if code in seen_codes:
            raise TaxonomyImportError(f"分类编码冲突：{seen_codes[code]} 与 {level1}/{level2} "
                                      f"(generated code collision {code})")
        seen_codes[code] = f"{level1}/{level2}"
        function = None                               # None: keep ours, or route as other.misc
        if unit in by_name:
            function = by_name[unit].functions[0]
        elif unit:
            if unit not in new_bodies:
                digest = hashlib.sha1(unit.encode("utf-8")).hexdigest()[:6]
                new_bodies[unit] = {"code": f"U-{digest}", "name": unit, "area": base.center.code,
                                    "functions": [f"unit_{digest}"]}
            function = new_bodies[unit]["functions"][0]
        if mine:
            entry = {**raw_by_code[mine.code], **({"body": function} if function else {})}
        else:
            entry = {"code": code, "level1": level1, "level2": level2, "kind": "demand",
                     "limits": limits, "body": function or fallback,
                     "keywords": [level2] if level2 != OTHER_LEVEL2 else []}
        entries.append(entry)
        result.categories.append(ImportedCategory(code, level1, level2, n, unit, "", bool(mine)))
    for code in SYSTEM_CODES:
        if code in raw_by_code and code not in seen_codes:
            entries.append(dict(raw_by_code[code]))
    result.new_bodies = list(new_bodies.values())
    _write(Path(out), Path(base_dir), taxonomy, entries, bodies_doc, result.new_bodies)
    try:
        catalog = Catalog.load(Path(out))
    except (CatalogError, KeyError) as exc:
        raise TaxonomyImportError(f"生成的分类表无法使用：{exc} (the generated taxonomy does not load)") from None
    for category in result.categories:
        category.body = catalog.route(category.code, None).body.code
    return result


_HEADER = """# Imported by `bot taxonomy import` from an agency's own work orders: the agency's first two
# levels are the categories, the most frequent handling unit of each its default body.
# Run on it with BOT_DATA_DIR={out}; edit kinds, time limits and keywords as the center decides.
"""


def _write(out: Path, base_dir: Path, taxonomy: dict, entries: list[dict], bodies_doc: dict,
           new_bodies: list[dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "county").mkdir(exist_ok=True)
    doc = {"time_limits": taxonomy["time_limits"], "categories": entries}
    text = _HEADER.format(out=out) + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False,
                                                    width=120)
    temp = out / "taxonomy.yml.tmp"
    temp.write_text(text, encoding="utf-8")
    temp.replace(out / "taxonomy.yml")
    bodies = {"bodies": list(bodies_doc["bodies"]) + new_bodies}
    (out / "county" / "bodies.yml").write_text(
        yaml.safe_dump(bodies, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
    shutil.copyfile(base_dir / "county" / "areas.yml", out / "county" / "areas.yml")
    for name in ("services.yml", "safety.yml", "county/safety.yml"):     # the county's own
        if (base_dir / name).is_file():
            shutil.copyfile(base_dir / name, out / name)
    if (base_dir / "safety_examples").is_dir():
        shutil.copytree(base_dir / "safety_examples", out / "safety_examples", dirs_exist_ok=True)
