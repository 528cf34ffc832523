"""py-spy under load: record every process of the product, then name the top frames.

    .venv/app/bin/python -m bench.profiling FILE.txt [--top 25] [--match rasa.]

`profiled(watch, folder, seconds)` records each watched process (py-spy `record --format raw`,
collapsed stacks) while the body runs; `summary(path)` reads such a file and returns the
frames with their inclusive share of the samples ("where the time goes") and the leaf frames
with their own share. py-spy needs ptrace (root here, or CAP_SYS_PTRACE).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")
RATE = 67                                     # samples a second
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def read_stacks(path: Path) -> Counter:
    """Collapsed stacks ('frame;frame;… count' per line) → Counter of stack tuples."""
    stacks: Counter = Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        head, _, count = line.rpartition(" ")
        if head and count.isdigit():
            stacks[tuple(head.split(";"))] += int(count)
    return stacks


def short_frame(frame: str) -> str:
    """'validate (jsonschema/validators.py:1332)' → 'jsonschema/validators.py:validate'."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match["file"]
    for marker in ("site-packages/", "lib/python3.10/", "lib/python3.11/", "/work/main/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{file}:{match['func']}"


def summary(path: Path, top: int = 25, match: str = "") -> dict:
    """Inclusive share per frame (counted once per stack) and own (leaf) share."""
    stacks = read_stacks(path)
    total = sum(stacks.values()) or 1
    inclusive: Counter = Counter()
    own: Counter = Counter()
    for stack, count in stacks.items():
        frames = [short_frame(f) for f in stack]
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            own[frames[-1]] += count
    keep = [(f, n) for f, n in inclusive.most_common() if match in f][:top]
    return {"samples": total,
            "inclusive": [(f, round(100 * n / total, 1)) for f, n in keep],
            "own": [(f, round(100 * n / total, 1)) for f, n in own.most_common(top)]}


def print_summary(name: str, path: Path, top: int = 25, match: str = "") -> None:
    result = summary(path, top + 40, match)
    print(f"\n{name}: {result['samples']} samples ({path})")
    print("  inclusive (frames under 75%: below the server's own loop):")
    for frame, pct in [(f, p) for f, p in result["inclusive"] if p < 75][:top]:
        print(f"    {pct:5.1f}%  {frame}")
    print("  own:")
    for frame, pct in result["own"][:10]:
        print(f"    {pct:5.1f}%  {frame}")


@contextmanager
def profiled(watch, folder: Path, seconds: float, idle: bool = False):
    """Record every watched process (but this one) for `seconds` while the body runs."""
    if not PY_SPY.exists() and not shutil.which("py-spy"):
        print("py-spy is not installed (pip install -r requirements/dev.txt): no profile")
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    spy = str(PY_SPY if PY_SPY.exists() else shutil.which("py-spy"))
    recorders = []
    for name, pid in sorted(watch.pids().items()):
        if name in ("bench", "supervisor") or not _is_python_worker(pid):
            continue
        out = folder / f"{name}.txt"
        argv = [spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", str(RATE),
                "-f", "raw", "-o", str(out), "--nonblocking"] + (["--idle"] if idle else [])
        recorders.append((name, out, subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                                      stderr=subprocess.DEVNULL)))
    try:
        yield
    finally:
        for name, out, process in recorders:
            try:
                process.wait(timeout=seconds + 30)
            except subprocess.TimeoutExpired:
                process.terminate()
            if out.exists():
                print_summary(name, out)


def _is_python_worker(pid: int) -> bool:
    """Skip helper processes that do no work (resource trackers, Sanic's manager)."""
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss > 50 * 2**20
    except Exception:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="only frames containing this")
    args = parser.parse_args(argv)
    for path in args.files:
        print_summary(path.stem, path, args.top, args.match)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
