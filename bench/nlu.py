"""Benchmark of the NLU model on the held-out splits tests/data/nlu_test/ (never trained on)
and on the real development set (../shared/data/gov-messages/, bot/nlu/devset.py).

    .venv/app/bin/python -m bench.nlu [--model models/current.tar.gz] [--train] [--json] [--no-devset]

Prints, on both splits together and on each alone (bot/nlu/heldout.py), intent macro-F1
(target ≥ 0.95) and first-level category macro-F1 (≥ 0.90); then second-level macro-F1, top-3
category accuracy, model load time (≤ 20 s), parse latency p50/p95 (≤ 30 ms, measured inside
the Rasa process, one message at a time) and the training time of the model (from
<model>.train.json written by scripts/train.sh; `--train` retrains into a temporary directory
and times it).

On the development set (residents' messages to a government message board, outside the
repository; data/devsets/gov_messages.yml maps its domains to first-level classes) it prints the
shipped model's first-level macro-F1, accuracy, per-class P/R/F1 and confusion matrix on every
mapped message; then a TF-IDF + LinearSVC baseline trained on a seeded 80% of the set and tested
on the other 20%, beside the shipped model on that same 20%, and their ratio: how close the
model, which never saw the set, comes to one trained on it.

To try training data or classifier settings without training the whole model, bench/nlu_fast.py
trains the category classifier alone in the Rasa environment (~30 s) and prints the same figures,
with the development set split into odd-id and even-id rows.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

from bot.catalog import Catalog
from bot.nlu import devset
from bot.nlu.baseline import TfidfSvmBaseline, split
from bot.nlu.heldout import heldout_splits, read_examples, score
from bot.nlu.metrics import evaluate
from bot.nlu.rasa import DEFAULT_MODEL, SubprocessParser
from bot.settings import ROOT

TARGETS = {"intent_macro_f1": 0.95, "level1_macro_f1": 0.90, "devset_level1_macro_f1": 0.85,
           "parse_p95_ms": 30.0,
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


def measure_devset(model: Path, catalog: Catalog) -> dict:
    """First-level figures of the shipped model on the development set, and the baseline's.

    Raises devset.DevSetMissing when the set is not on this machine."""
    rows = devset.load()
    scored = devset.labelled(rows)
    parser = SubprocessParser(model)
    try:
        parses = parser.parse([row.text for row in scored])     # one batch, one model load
    finally:
        parser.close()
    gold = [row.level1 for row in scored]
    shipped = [devset.level1_of(p, catalog) for p in parses]
    train, test = split(len(scored))
    started = time.perf_counter()
    baseline = TfidfSvmBaseline().fit([scored[i].text for i in train], [gold[i] for i in train])
    predicted = baseline.predict([scored[i].text for i in test])
    baseline_seconds = round(time.perf_counter() - started, 1)
    test_gold = [gold[i] for i in test]
    on_split = {"baseline": evaluate(test_gold, predicted),
                "shipped": evaluate(test_gold, [shipped[i] for i in test])}
    base_f1 = on_split["baseline"]["macro_f1"]
    return {
        "rows": len(rows), "scored": len(scored),
        "excluded": {domain: sum(1 for r in rows if r.domain == domain)
                     for domain in sorted({r.domain for r in rows if r.level1 is None})},
        "shipped": evaluate(gold, shipped),
        "split": {"train": len(train), "test": len(test), "seed": 7,
                  "baseline_seconds": baseline_seconds, **on_split,
                  "ratio": round(on_split["shipped"]["macro_f1"] / base_f1, 3) if base_f1 else None},
    }


def _pad(label: str, width: int = 14) -> str:
    """Left-aligns a label that may hold CJK characters (two columns each)."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in label)
    return label + " " * max(1, width - shown)


def print_devset(dev: dict) -> None:
    shipped, cut = dev["shipped"], dev["split"]
    excluded = sum(dev["excluded"].values())
    print(f"\nDevelopment set (gov-messages): {dev['scored']} of {dev['rows']} messages scored "
          f"({excluded} in excluded domains, data/devsets/gov_messages.yml)")
    print(f"  shipped model: level-1 macro-F1 {shipped['macro_f1']}, accuracy {shipped['accuracy']}")
    gold = list(shipped["confusion"])
    print(f"  {_pad('class')}{'P':>7}{'R':>7}{'F1':>7}{'n':>6}")
    for label in gold:
        c = shipped["per_class"][label]
        print(f"  {_pad(label)}{c['precision']:>7}{c['recall']:>7}{c['f1']:>7}{c['support']:>6}")
    columns = gold + sorted({p for row in shipped["confusion"].values() for p in row} - set(gold))
    print("  confusion (rows: gold, columns: predicted)")
    print("  " + _pad("") + "".join(f"{i:>6}" for i in range(len(columns))))
    for label in gold:
        row = shipped["confusion"][label]
        print(f"  {_pad(label)}" + "".join(f"{row.get(p, 0):>6}" for p in columns))
    print("  columns: " + ", ".join(f"{i} {label}" for i, label in enumerate(columns)))
    print(f"  baseline (TF-IDF + LinearSVC) trained on {cut['train']}, tested on {cut['test']} "
          f"(seed {cut['seed']}, {cut['baseline_seconds']} s): macro-F1 {cut['baseline']['macro_f1']}, "
          f"accuracy {cut['baseline']['accuracy']}")
    print(f"  shipped model on the same {cut['test']}: macro-F1 {cut['shipped']['macro_f1']}, "
          f"accuracy {cut['shipped']['accuracy']}; ratio shipped/baseline {cut['ratio']}")


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
    parser.add_argument("--no-devset", action="store_true", help="skip the development set")
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
        dev, dev_missing = None, None
        if not args.no_devset:
            try:
                dev = measure_devset(model, catalog)
            except devset.DevSetMissing as exc:
                dev_missing = str(exc)
    figures = summary(result, train_seconds)
    if dev is not None:
        figures["devset_level1_macro_f1"] = dev["shipped"]["macro_f1"]
        figures["devset_baseline_ratio"] = dev["split"]["ratio"]
    if args.json:
        print(json.dumps({"summary": figures, "details": result, "devset": dev},
                         ensure_ascii=False, indent=2))
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
    if dev is not None:
        print_devset(dev)
    elif dev_missing:
        print(f"\nDevelopment set skipped: {dev_missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
