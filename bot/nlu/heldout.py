"""The held-out NLU split (tests/data/nlu_test/): read it and score a model on it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.catalog import Catalog
from bot.nlu.metrics import evaluate, percentile

_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)|\[([^\]]+)\]\{[^}]+\}")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str            # dialogue intent: report, greet, ask_status ...
    category: str | None   # category code for report examples


def plain(text: str) -> str:
    """`[13812345678](phone)` → `13812345678`."""
    return _ANNOTATION.sub(lambda m: m.group(1) or m.group(2), text).strip()


def read_examples(paths: list[Path]) -> list[Example]:
    examples = []
    for path in paths:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        for block in doc.get("nlu") or []:
            name = block.get("intent")
            if not name:
                continue
            code = (block.get("metadata") or {}).get("category")
            for line in (block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.append(Example(plain(line[2:]), name, code or None))
    return examples


def heldout_files(root: Path) -> list[Path]:
    return sorted((root / "tests" / "data" / "nlu_test").glob("*.yml"))


def heldout_splits(root: Path) -> dict[str, list[Path]]:
    """The two held-out splits: `first` (written beside the training data, read while it grew)
    and `blind` (`*blind*.yml`, written from the intent and category names alone, never looked at
    while tuning the model or its data)."""
    files = heldout_files(root)
    return {"first": [f for f in files if "blind" not in f.name],
            "blind": [f for f in files if "blind" in f.name]}


def score(examples: list[Example], parses: list[dict], catalog: Catalog) -> dict:
    """Intent and category figures of `parses` (rasa_tools/parse.py results) on `examples`."""
    gold_intents = [e.intent for e in examples]
    predicted_intents = [(p.get("intent") or {}).get("name") or "none" for p in parses]
    reports = [(e, p) for e, p in zip(examples, parses) if e.category in catalog.categories]
    best = [((p.get("report_ranking") or [{}])[0].get("code") or "other.misc") for _, p in reports]
    best = [code if code in catalog.categories else "other.misc" for code in best]
    gold_codes = [e.category for e, _ in reports]
    level1 = evaluate([catalog.categories[c].level1 for c in gold_codes],
                      [catalog.categories[c].level1 for c in best])
    level2 = evaluate(gold_codes, best)
    top3 = sum(1 for (e, p) in reports
               if e.category in [r.get("code") for r in (p.get("report_ranking") or [])[:3]])
    latencies = [float(p.get("ms") or 0.0) for p in parses]
    return {
        "n": len(examples),
        "intent": evaluate(gold_intents, predicted_intents),
        "level1": level1,
        "level2": level2,
        "category_top3_accuracy": round(top3 / len(reports), 4) if reports else None,
        "latency_ms": {"p50": round(percentile(latencies, 50), 2),
                       "p95": round(percentile(latencies, 95), 2),
                       "max": round(max(latencies, default=0.0), 2)},
    }
