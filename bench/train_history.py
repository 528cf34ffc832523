"""Benchmark of `bot train --history` with 10,000 historical work orders (target ≤ 15 min).

    .venv/app/bin/python -m bench.train_history [--rows 10000] [--json]

The rows are the repository's own report examples dressed as hotline work orders (来电人反映：…
诉求：…), so the figure is a timing of the whole command (read the file, write the NLU data,
train the full model), not an accuracy claim.
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.nlu.heldout import read_examples
from bot.settings import ROOT

TARGET_SECONDS = 900.0
OPENINGS = ("来电人反映：", "市民来电称，", "群众反映：", "", "网民留言：")
CLOSINGS = ("。诉求：请相关部门尽快处理。", "，希望尽快解决。", "", "。来电人要求回复处理结果。")


def history_rows(count: int) -> list[tuple[str, str]]:
    reports = [e for e in read_examples(sorted((ROOT / "data" / "nlu").glob("report_*.yml")))
               if e.category]
    return [(OPENINGS[i % len(OPENINGS)] + reports[i % len(reports)].text
             + CLOSINGS[(i // len(OPENINGS)) % len(CLOSINGS)], reports[i % len(reports)].category)
            for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        history = Path(tmp) / "history.csv"
        with history.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["内容", "分类"])
            writer.writerows(history_rows(args.rows))
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bot.cli", "train", "--history", str(history),
                               "--out", str(Path(tmp) / "model.tar.gz"), "--json"],
                              cwd=ROOT, capture_output=True, text=True)
        seconds = round(time.perf_counter() - started, 1)
    if proc.returncode != 0:
        print(proc.stdout[-2000:] + proc.stderr[-2000:], file=sys.stderr)
        return proc.returncode
    figures = {"rows": args.rows, "train_seconds": seconds, "target_seconds": TARGET_SECONDS}
    if args.json:
        print(json.dumps(figures))
        return 0
    verdict = "ok" if seconds <= TARGET_SECONDS else "MISSED"
    print(f"bot train --history with {args.rows} rows: {seconds} s   "
          f"target ≤ {TARGET_SECONDS:g} s  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
