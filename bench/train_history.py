"""Benchmarks of `bot train --history`.

    .venv/app/bin/python -m bench.train_history [--rows 10000] [--json]     # timing (≤ 15 min)
    .venv/app/bin/python -m bench.train_history --dev [--json]              # real first-level history

Timing: the rows are the repository's own report examples dressed as hotline work orders
(来电人反映：… 诉求：…), so the figure is a timing of the whole command (read the file, write
the NLU data, train the full model), not an accuracy claim.

`--dev`: the real development set (../shared/data/gov-messages/, outside the repository; its
domains → our first levels by data/devsets/gov_messages.yml) as a history labelled with
first-level names only. Seeded 80/20 split (bot.nlu.baseline.split): `bot train --history` on
the 80%, first-level macro-F1 on the 20%, beside the TF-IDF + LinearSVC baseline trained on the
same 80%. The split files live in a temporary directory and are removed afterwards.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.nlu.heldout import read_examples
from bot.settings import ROOT

TARGET_SECONDS = 900.0
TARGET_DEV_MACRO_F1 = 0.90
OPENINGS = ("来电人反映：", "市民来电称，", "群众反映：", "", "网民留言：")
CLOSINGS = ("。诉求：请相关部门尽快处理。", "，希望尽快解决。", "", "。来电人要求回复处理结果。")


def history_rows(count: int) -> list[tuple[str, str]]:
    reports = [e for e in read_examples(sorted((ROOT / "data" / "nlu").glob("report_*.yml")))
               if e.category]
    return [(OPENINGS[i % len(OPENINGS)] + reports[i % len(reports)].text
             + CLOSINGS[(i // len(OPENINGS)) % len(CLOSINGS)], reports[i % len(reports)].category)
            for i in range(count)]


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["内容", "分类"])
        writer.writerows(rows)
    return path


def _train(history: Path, out: Path) -> tuple[subprocess.CompletedProcess, float]:
    """`bot train` with its work files beside `out` (not in the shared var/)."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "train", "--history", str(history),
                           "--out", str(out), "--json"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "BOT_VAR_DIR": str(out.parent / "var")})
    return proc, round(time.perf_counter() - started, 1)


def timing(rows: int, as_json: bool) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        history = _write(Path(tmp) / "history.csv", history_rows(rows))
        proc, seconds = _train(history, Path(tmp) / "model.tar.gz")
    if proc.returncode != 0:
        print(proc.stdout[-2000:] + proc.stderr[-2000:], file=sys.stderr)
        return proc.returncode
    figures = {"rows": rows, "train_seconds": seconds, "target_seconds": TARGET_SECONDS}
    if as_json:
        print(json.dumps(figures))
        return 0
    verdict = "ok" if seconds <= TARGET_SECONDS else "MISSED"
    print(f"bot train --history with {rows} rows: {seconds} s   "
          f"target ≤ {TARGET_SECONDS:g} s  {verdict}")
    return 0


def dev(as_json: bool) -> int:
    from bot.catalog import Catalog
    from bot.nlu import devset
    from bot.nlu.baseline import TfidfSvmBaseline, split
    from bot.nlu.evaluation import classify_all
    from bot.nlu.metrics import evaluate
    from bot.nlu.rasa import RasaClassifier, SubprocessParser

    try:
        rows = devset.labelled(devset.load())
    except devset.DevSetMissing as exc:
        if os.environ.get("CI") == "true":
            print(f"the development set is required when CI=true: {exc}", file=sys.stderr)
            return 1
        print(f"skipped: {exc}")
        return 0
    catalog = Catalog.load(ROOT / "data")
    train, test = split(len(rows))
    gold = [rows[i].level1 for i in test]
    texts = [rows[i].text for i in test]
    with tempfile.TemporaryDirectory() as tmp:
        history = _write(Path(tmp) / "history.csv", [(rows[i].text, rows[i].level1) for i in train])
        model = Path(tmp) / "model.tar.gz"
        proc, seconds = _train(history, model)
        if proc.returncode != 0:
            print(proc.stdout[-2000:] + proc.stderr[-2000:], file=sys.stderr)
            return proc.returncode
        report = json.loads(proc.stdout)["history"]
        classifier = RasaClassifier(catalog, SubprocessParser(model))
        try:
            predicted = [r.level1 for r in classify_all(classifier, texts)]
        finally:
            classifier.close()
    baseline = TfidfSvmBaseline().fit([rows[i].text for i in train], [rows[i].level1 for i in train])
    figures = {"model": evaluate(gold, predicted), "baseline": evaluate(gold, baseline.predict(texts))}
    data = {"train_rows": len(train), "test_rows": len(test), "used": report["used"],
            "skipped_by_reason": report["skipped_by_reason"], "train_seconds": seconds,
            "target_macro_f1": TARGET_DEV_MACRO_F1,
            **{name: {k: f[k] for k in ("accuracy", "macro_f1", "per_class")}
               for name, f in figures.items()}}
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
        return 0
    model_f1, base_f1 = figures["model"]["macro_f1"], figures["baseline"]["macro_f1"]
    print(f"bot train --history on the real development set, first-level labels only "
          f"(seeded 80/20: {len(train)} train, {len(test)} test; {seconds} s to train)")
    print(f"  history rows used {report['used']}, skipped {report['skipped_by_reason'] or 0}")
    print(f"  {'':<16} {'model':>8} {'baseline':>9}")
    print(f"  {'level1_macro_f1':<16} {model_f1:>8.4f} {base_f1:>9.4f}   target ≥ "
          f"{TARGET_DEV_MACRO_F1:g} and above the baseline  "
          f"{'ok' if model_f1 >= TARGET_DEV_MACRO_F1 and model_f1 > base_f1 else 'MISSED'}")
    print(f"  {'level1_accuracy':<16} {figures['model']['accuracy']:>8.4f} "
          f"{figures['baseline']['accuracy']:>9.4f}")
    for label, f in sorted(figures["model"]["per_class"].items(), key=lambda kv: -kv[1]["support"]):
        b = figures["baseline"]["per_class"].get(label, {"f1": 0.0})
        print(f"    {label:<12} n={f['support']:<4} F1 {f['f1']:.3f}  baseline {b['f1']:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--dev", action="store_true",
                        help="first-level macro-F1 of a history trained on 80%% of the real dev set")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    return dev(args.json) if args.dev else timing(args.rows, args.json)


if __name__ == "__main__":
    sys.exit(main())
