"""Benchmark of batch intake: transcripts per second end to end (read, extract, classify,
check duplicates, open the case) on a fresh SQLite store.

    .venv/app/bin/python -m bench.intake [--count 200]

The batch is built from tests/data/transcripts: each transcript is varied (a different
phone number and house number per copy) so that every one opens a new case.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import time
from pathlib import Path

from bot.container import Container
from bot.intake.reader import Transcript, read_path
from bot.intake.service import IntakeService
from bot.settings import ROOT, Settings

DATA = ROOT / "tests" / "data" / "transcripts"
TARGET = 20.0


def build_batch(folder: Path, count: int) -> Path:
    """A JSONL batch of `count` transcripts, as an end-of-shift export would be."""
    sources = [t for t in read_path(DATA) if isinstance(t, Transcript)]
    rng = random.Random(5)
    path = folder / "batch.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            t = sources[i % len(sources)]
            turns = []
            for turn in t.turns:
                text = re.sub(r"1[3-9]\d{9}", lambda m: f"1{rng.randint(3, 9)}{rng.randint(0, 10**9 - 1):09d}", turn.text)
                turns.append({"speaker": turn.speaker_role, "text": text, "start": turn.start})
            turns.append({"speaker": "caller", "text": f"补充一下，是{i + 1}号。"})
            out.write(json.dumps({"id": f"bench-{i}", "turns": turns, **t.meta}, ensure_ascii=False) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    folder = ROOT / "var" / "bench-intake"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    container = Container(Settings.from_env({"DATABASE_URL": f"sqlite:///{folder / 'cases.db'}",
                                             "BOT_DATA_DIR": str(ROOT / "data"), "BOT_VAR_DIR": str(folder)}))
    container.upgrade()
    batch = build_batch(folder, args.count)

    started = time.perf_counter()
    service = IntakeService.from_container(container)
    items = read_path(batch)
    report = service.run_batch(items)
    elapsed = time.perf_counter() - started

    rate = len(items) / elapsed
    print(f"intake: {len(items)} transcripts in {elapsed:.2f}s = {rate:.1f} transcripts/s "
          f"(opened {len(report.opened)}, failed {len(report.failed)}, classifier "
          f"{type(service.classifier).__name__}; target >= {TARGET:g}/s)")
    for outcome in report.failed[:5]:
        print(f"  failed {outcome.id}: {outcome.error}")
    container.engine.dispose()
    if rate < TARGET:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
