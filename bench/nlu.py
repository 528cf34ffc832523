"""Benchmark of the NLU model on the held-out splits tests/data/nlu_test/ (never trained on).

    .venv/app/bin/python -m bench.nlu [--model models/current.tar.gz] [--train] [--json]

Prints, on both splits together and on each alone (bot/nlu/heldout.py), intent macro-F1
(target ≥ 0.95) and first-level category macro-F1 (≥ 0.90); then second-level macro-F1, top-3
category accuracy, model load time (≤ 20 s), parse latency p50/p95 (≤ 30 ms, measured inside
the Rasa process, one message at a time) and the training time of the model (from
<model>.train.json written by scripts/train.sh; `--train` retrains into a temporary directory
and times it).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.catalog import Catalog
from bot.nlu.heldout import heldout_splits, read_examples, score
from bot.nlu.rasa import DEFAULT_MODEL, SubprocessParser
from bot.settings import ROOT

TARGETS = {"intent_macro_f1": 0.95, "level1_macro_f1": 0.90, "parse_p95_ms": 30.0,
           "load_seconds": 20.0, "train_seconds": 600.0}


def train(out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([str(ROOT / "scripts" / "train.sh"), str(out)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(model: Path, catalog: Catalog) -> dict:
    """Scores the model on the combined held-out data and on each split alone."""
    splits = {name: read_examples(files) for name, files in heldout_splits(ROOT).items()}
    examples = [e for split in splits.values() for e in split]
    parser = SubprocessParser(model)
    started = time.perf_counter()
    parser.parse(["你好"])                      # loads the model
    load_wall = time.perf_counter() - started
    try:
        parses = parser.parse([e.text for e in examples])
    finally:
        parser.close()
    result = score(examples, parses, catalog)
    result["splits"], start = {}, 0
    for name, split in splits.items():
        result["splits"][name] = score(split, parses[start:start + len(split)], catalog)
        start += len(split)
    result["load_seconds"] = parser.load_seconds
    result["load_wall_seconds"] = round(load_wall, 2)
    return result


def summary(result: dict, train_seconds: float | None) -> dict:
    return {
        "examples": result["n"],
        "intent_macro_f1": result["intent"]["macro_f1"],
        "intent_accuracy": result["intent"]["accuracy"],
        "level1_macro_f1": result["level1"]["macro_f1"],
        "level1_accuracy": result["level1"]["accuracy"],
        "level2_macro_f1": result["level2"]["macro_f1"],
        "category_top3_accuracy": result["category_top3_accuracy"],
        "parse_p50_ms": result["latency_ms"]["p50"],
        "parse_p95_ms": result["latency_ms"]["p95"],
        "load_seconds": result["load_seconds"],
        "train_seconds": train_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--train", action="store_true", help="retrain and time it first")
    parser.add_argument("--json", action="store_true", help="print the full figures as JSON")
    args = parser.parse_args(argv)
    catalog = Catalog.load(ROOT / "data")
    train_seconds = None
    model = args.model
    with tempfile.TemporaryDirectory() as tmp:
        if args.train:
            model = Path(tmp) / "bench.tar.gz"
            train_seconds = round(train(model), 1)
        elif model.with_suffix("").with_suffix(".train.json").is_file():
            meta = json.loads(model.with_suffix("").with_suffix(".train.json").read_text())
            train_seconds = meta.get("train_seconds")
        if not model.is_file():
            print(f"no model at {model}: run `make model` first", file=sys.stderr)
            return 2
        result = measure(model, catalog)
    figures = summary(result, train_seconds)
    if args.json:
        print(json.dumps({"summary": figures, "details": result}, ensure_ascii=False, indent=2))
        return 0
    print(f"NLU benchmark — {model} on {figures['examples']} held-out examples")
    for key, value in figures.items():
        target = TARGETS.get(key)
        mark = ""
        if target is not None and value is not None:
            ok = value >= target if key.endswith("f1") else value <= target
            mark = f"   target {'≥' if key.endswith('f1') else '≤'} {target:g}  {'ok' if ok else 'MISSED'}"
        print(f"  {key:<24} {value}{mark}")
    for name, split in result["splits"].items():
        has_reports = split["category_top3_accuracy"] is not None
        level1 = split["level1"]["macro_f1"] if has_reports else "—"
        print(f"  {name + ' split':<24} {split['n']} examples: intent macro-F1 "
              f"{split['intent']['macro_f1']}, level-1 macro-F1 {level1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
