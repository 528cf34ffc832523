"""Load benchmark (issue 12): closed-loop residents running whole report conversations.

    .venv/app/bin/python -m bench.load [--levels 1,10,50,200] [--duration 20] [--no-stock]
        [--doors web,rasa] [--profile DIR [--idle]] [--compare REF [--a REF] [--rounds 2]]

It starts the product as `bot run` does (tests/web_support.py `product()`: free ports, a fresh
SQLite store, chat rate limits raised for the test), then for each concurrency level runs that
many simulated residents for `--duration` seconds. Each resident, in a closed loop, opens a chat
session and runs one conversation after another: report → place → time → phone → 确认, each
ending in a case card; a conversation going past the deadline is finished, not cut. Doors:

* web   the web chat HTTP API (`GET /api/chat/session`, `POST /api/chat/message`), as chat.js;
* rasa  the product's Rasa REST channel directly (no app in the loop), for attribution.

Printed per level: messages/s (answers received inside the window / window), p50 / p95 / p99,
errors, conversations confirmed (the reply showed a case card) against cases in the store (they
must be equal), CPU milliseconds per message (all product processes), peak RSS and CPU share
(% of one core) of every process, this one included. On a machine shared with other work the
CPU per message is the steadier figure: messages/s follows the share of the cores we get.

Then, unless --no-stock, a stock Rasa 3.6 project (bench/stock_rasa.py: default pipeline and
policies, one form, one custom action on rasa_sdk) runs on other ports and is driven through
its REST channel by the same loop; the ratio product / stock is printed per level.

--profile DIR: py-spy records every product process during one level (--profile-level, default
50) and prints the top frames (the raw stacks stay in DIR; --idle samples waiting threads too).
--compare REF: before/after — this checkout (or --a REF) and commit REF run side by side, the
levels measured in turn A B A B, so that both get the same machine.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from contextlib import nullcontext
from pathlib import Path

import httpx

from bench.procwatch import ProcessWatch
from bench.profiling import profiled
from bot.settings import ROOT

RATE_ENV = {"WEBCHAT_RATE_PER_SESSION": "1000000/minute;10000000/hour",
            "WEBCHAT_RATE_PER_ADDRESS": "10000000/minute"}
REPORTS = ["小区门口的路灯坏了一排", "楼下烧烤店天天半夜吵得睡不着", "我们村的自来水停了三天了",
           "老板拖欠工资三个月不给"]
PLACES = ["文化路28号", "幸福小区3栋", "东关村二组", "人民路和解放路路口"]
TIMES = ["最近一个月", "前天晚上开始的", "已经三天了"]
TIMEOUT = 120.0
SERIALS = itertools.count()    # one sender per conversation, across levels


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def phone(rng: random.Random) -> str:
    return "139" + "".join(rng.choice("0123456789") for _ in range(8))


# ---------------------------------------------------------------------------- doors
class WebDoor:
    """The resident chat API, one cookie (session) per conversation."""
    name = "web"

    def __init__(self, base: str) -> None:
        self.base = base

    async def begin(self, client: httpx.AsyncClient, serial: int) -> dict:
        client.cookies.clear()
        (await client.get(f"{self.base}/api/chat/session")).raise_for_status()
        return {}

    async def say(self, client: httpx.AsyncClient, state: dict, text: str) -> list[dict]:
        reply = await client.post(f"{self.base}/api/chat/message", json={"text": text})
        reply.raise_for_status()
        body = reply.json()
        if body.get("queued"):
            raise Queued(body["messages"][0].get("text") or "")
        return body["messages"]


class RestDoor:
    """A Rasa REST channel (`POST /webhooks/rest/webhook`), one sender per conversation."""

    def __init__(self, rasa_url: str, prefix: str, name: str = "rasa") -> None:
        self.url = f"{rasa_url.rstrip('/')}/webhooks/rest/webhook"
        self.prefix = prefix
        self.name = name

    async def begin(self, client: httpx.AsyncClient, serial: int) -> dict:
        return {"sender": f"{self.prefix}{os.getpid()}-{serial}"}

    async def say(self, client: httpx.AsyncClient, state: dict, text: str) -> list[dict]:
        reply = await client.post(self.url, json={"sender": state["sender"], "message": text})
        reply.raise_for_status()
        return reply.json()


class Queued(Exception):
    """The app kept the message for later (Rasa did not answer within its timeout)."""


def product_script(rng: random.Random) -> list[str]:
    return [rng.choice(REPORTS), rng.choice(PLACES), rng.choice(TIMES), phone(rng), "确认"]


def product_case(messages: list[dict]) -> bool:
    return any(((m.get("custom") or {}).get("case") or {}).get("number") for m in messages)


# ---------------------------------------------------------------------------- the loop
@dataclass
class Run:
    door: str
    concurrency: int
    window: float = 0.0
    answered_in_window: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    started: int = 0
    confirmed: int = 0
    cases: int | None = None
    processes: dict = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.answered_in_window / self.window if self.window else 0.0

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{kind}: {detail[:160]}")

    def row(self) -> dict:
        ms = [x * 1000 for x in self.latencies]
        served = {k: p for k, p in self.processes.items() if k != "bench"}
        cpu_ms = (1000 * sum(p["cpu_s"] for p in served.values()) / len(ms)) if ms else None
        return {"cpu_ms_per_message": None if cpu_ms is None else round(cpu_ms, 1),
                "rss_mb_total": round(sum(p["rss_mb"] for p in served.values())),
                "door": self.door, "concurrency": self.concurrency,
                "messages_per_s": round(self.rate, 2), "messages": len(ms),
                "p50_ms": round(percentile(ms, 50), 1), "p95_ms": round(percentile(ms, 95), 1),
                "p99_ms": round(percentile(ms, 99), 1), "errors": sum(self.errors.values()),
                "error_kinds": dict(self.errors), "conversations": self.started,
                "confirmed": self.confirmed, "cases": self.cases, "processes": self.processes}


async def resident(door, client: httpx.AsyncClient, run: Run, script, is_case, deadline: float,
                   serials, rng: random.Random) -> None:
    while time.perf_counter() < deadline:
        serial = next(serials)
        run.started += 1
        try:
            state = await door.begin(client, serial)
            lines = script(rng)
            for index, text in enumerate(lines):
                t0 = time.perf_counter()
                messages = await door.say(client, state, text)
                t1 = time.perf_counter()
                run.latencies.append(t1 - t0)
                if t1 <= deadline:
                    run.answered_in_window += 1
            if is_case(messages):
                run.confirmed += 1
            else:
                run.error("no_case", f"{state.get('sender', '')} {lines} → "
                          + " / ".join(m.get("text") or "" for m in messages))
        except Queued as exc:
            run.error("queued", str(exc))
        except httpx.HTTPStatusError as exc:
            run.error(f"http_{exc.response.status_code}", exc.response.text)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            run.error(type(exc).__name__, str(exc))


async def closed_loop(door, concurrency: int, duration: float, script, is_case,
                      watch: ProcessWatch | None = None, seed: int = 12) -> Run:
    run = Run(door.name, concurrency)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(timeout=TIMEOUT, limits=limits) for _ in range(concurrency)]
    if watch is not None:
        watch.start()
    started = time.perf_counter()
    deadline = started + duration
    try:
        await asyncio.gather(*(resident(door, c, run, script, is_case, deadline, SERIALS,
                                        random.Random(seed * 1000 + i))
                               for i, c in enumerate(clients)))
    finally:
        for client in clients:
            await client.aclose()
    run.window = duration
    if watch is not None:
        run.processes = watch.stop()
    return run


def count_cases(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT count(*) FROM cases").fetchone()[0]


# ---------------------------------------------------------------------------- printing
def print_table(title: str, runs: list[Run]) -> None:
    print(f"\n{title}")
    print(f"{'door':<6}{'conc':>5}{'msg/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'errors':>7}{'confirmed':>10}{'cases':>7}{'cpu ms/msg':>11}{'RSS MB':>8}")
    for run in runs:
        r = run.row()
        cases = "-" if r["cases"] is None else r["cases"]
        print(f"{r['door']:<6}{r['concurrency']:>5}{r['messages_per_s']:>8.1f}{r['p50_ms']:>9.0f}"
              f"{r['p95_ms']:>9.0f}{r['p99_ms']:>9.0f}{r['errors']:>7}{r['confirmed']:>10}"
              f"{cases:>7}{r['cpu_ms_per_message'] or 0:>11.1f}{r['rss_mb_total']:>8}")
        for sample in run.error_samples[:3]:
            print(f"      {sample}")
        print("      " + ", ".join(f"{name} {p['cpu_pct']:.0f}% cpu {p['rss_mb']:.0f} MB"
                                  for name, p in r["processes"].items()))


# ---------------------------------------------------------------------------- main
def run_levels(door, levels, duration, script, is_case, watch, cases_of=None,
               quiet: bool = False) -> list[Run]:
    runs = []
    for level in levels:
        before = cases_of() if cases_of else None
        run = asyncio.run(closed_loop(door, level, duration, script, is_case, watch))
        if cases_of:
            time.sleep(0.5)
            run.cases = cases_of() - before
        runs.append(run)
        if not quiet:
            print_table(f"[{door.name}] {level} concurrent, {duration:g} s", [run])
    return runs


def product_runs(args, tmp: Path) -> list[Run]:
    from tests.web_support import product

    runs: list[Run] = []
    with product(tmp, extra_env=RATE_ENV) as (base, env, output, state):
        watch = ProcessWatch.of_tree(state["proc"].pid, own=True)
        print(f"product up: {base}, Rasa {env['RASA_URL']}; processes: "
              f"{', '.join(watch.names())}", flush=True)
        db = tmp / "cases.db"
        doors = {"web": WebDoor(base), "rasa": RestDoor(env["RASA_URL"], "webchat:bench-")}
        # warm-up: one conversation per door, not measured (the first parse loads lazily)
        for name in args.doors:
            asyncio.run(closed_loop(doors[name], 1, 0.01, product_script, product_case))
        for name in args.doors:
            for level in args.levels:
                profile = args.profile and name == args.doors[0] and level == args.profile_level
                with (profiled(watch, Path(args.profile), args.duration, args.idle) if profile
                      else nullcontext()):
                    runs += run_levels(doors[name], [level], args.duration, product_script,
                                       product_case, watch, lambda: count_cases(db))
    return runs


def checkout(ref: str) -> Path:
    """The tree of commit `ref` under var/bench/trees/ (git archive; the venvs and the model
    are this checkout's, linked), to run the product as it was for a before/after."""
    import subprocess

    sha = subprocess.run(["git", "rev-parse", ref], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.strip()
    tree = ROOT / "var" / "bench" / "trees" / sha[:12]
    if not (tree / "bot").is_dir():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.Popen(["git", "archive", sha], cwd=ROOT, stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(tree)], stdin=archive.stdout, check=True)
        archive.wait()
        for name in (".venv", "models"):
            (tree / name).symlink_to(ROOT / name)
    return tree


def merged(runs: list[Run]) -> Run:
    """Rounds of one level on one side as one run (windows and counts added up)."""
    out = Run(runs[0].door, runs[0].concurrency, cases=0)
    for run in runs:
        for name, p in run.processes.items():
            into = out.processes.setdefault(name, {"pid": p["pid"], "cpu_s": 0.0, "cpu_pct": 0.0,
                                                   "rss_mb": 0.0})
            into["cpu_s"] += p["cpu_s"]
            into["cpu_pct"] += p["cpu_pct"] / len(runs)
            into["rss_mb"] = max(into["rss_mb"], p["rss_mb"])
        out.window += run.window
        out.answered_in_window += run.answered_in_window
        out.latencies += run.latencies
        out.errors.update(run.errors)
        out.error_samples += run.error_samples
        out.started += run.started
        out.confirmed += run.confirmed
        out.cases += run.cases or 0
    return out


def compare_runs(args, tmp: Path) -> tuple[list[Run], list[Run]]:
    """This checkout (A) and `--compare REF` (B) up at once, measured in turn A B A B … per
    level, so that both see the same machine (the ratio is taken over the same minutes)."""
    from tests.web_support import product

    tree = checkout(args.compare)
    tree_a = checkout(args.a) if args.a else None
    sides: dict[str, list[Run]] = {"A": [], "B": []}
    with product(tmp / "a", root=tree_a, extra_env=RATE_ENV) as (base_a, env_a, _, state_a), \
            product(tmp / "b", root=tree, extra_env=RATE_ENV) as (base_b, env_b, _, state_b):
        setups = {"A": (base_a, tmp / "a" / "cases.db", state_a),
                  "B": (base_b, tmp / "b" / "cases.db", state_b)}
        doors = {side: WebDoor(base) for side, (base, _, _) in setups.items()}
        watches = {side: ProcessWatch.of_tree(state["proc"].pid)
                   for side, (_, _, state) in setups.items()}
        for side in sides:
            asyncio.run(closed_loop(doors[side], 1, 0.01, product_script, product_case))
        for level in args.levels:
            rounds: dict[str, list[Run]] = {"A": [], "B": []}
            for _ in range(args.rounds):
                for side in sides:
                    db = setups[side][1]
                    rounds[side] += run_levels(doors[side], [level], args.duration,
                                               product_script, product_case, watches[side],
                                               lambda db=db: count_cases(db), quiet=True)
            for side in sides:
                sides[side].append(merged(rounds[side]))
            a, b = sides["A"][-1].row(), sides["B"][-1].row()
            print(f"{level:>4} concurrent: A {a['messages_per_s']:.1f} msg/s p95 {a['p95_ms']:.0f} "
                  f"ms {a['cpu_ms_per_message']} cpu ms/msg | B ({args.compare}) "
                  f"{b['messages_per_s']:.1f} msg/s p95 {b['p95_ms']:.0f} ms "
                  f"{b['cpu_ms_per_message']} cpu ms/msg | msg/s A/B "
                  f"{a['messages_per_s'] / b['messages_per_s'] if b['messages_per_s'] else 0:.2f}",
                  flush=True)
    return sides["A"], sides["B"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,10,50,200",
                        help="concurrent residents, comma-separated")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per level")
    parser.add_argument("--doors", default="web", help="web,rasa")
    parser.add_argument("--no-stock", action="store_true", help="skip the stock Rasa project")
    parser.add_argument("--stock-only", action="store_true")
    parser.add_argument("--profile", metavar="DIR", help="py-spy the top level into DIR")
    parser.add_argument("--profile-level", type=int, help="the level to profile (default: 50 "
                        "when measured, else the highest)")
    parser.add_argument("--idle", action="store_true",
                        help="with --profile: sample waiting threads too (where latency goes)")
    parser.add_argument("--compare", metavar="REF",
                        help="before/after: this checkout against commit REF, in turn")
    parser.add_argument("--a", metavar="REF", help="with --compare: A is commit REF, not this "
                        "working tree (which holds everyone's uncommitted edits)")
    parser.add_argument("--rounds", type=int, default=2, help="turns per level with --compare")
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    args = parser.parse_args(argv)
    args.levels = [int(x) for x in args.levels.split(",") if x.strip()]
    args.doors = [d.strip() for d in args.doors.split(",") if d.strip()]
    if args.profile_level is None:
        args.profile_level = 50 if 50 in args.levels else max(args.levels)

    runs: list[Run] = []
    stock: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        if args.compare:
            runs, before = compare_runs(args, Path(tmp))
            print_table(f"A: {args.a or 'this checkout'}", runs)
            print_table(f"B: {args.compare}", before)
            args.no_stock = True
        elif not args.stock_only:
            runs = product_runs(args, Path(tmp) / "product")
        if not args.no_stock:
            from bench.stock_rasa import stock_runs

            stock = stock_runs(args, Path(tmp) / "stock", closed_loop, RestDoor, run_levels)
    print_table("product", runs)
    if stock:
        print_table("stock Rasa 3.6 (REST channel)", stock)
        print("\nratio product / stock, messages per second:")
        by_level = {s.concurrency: s for s in stock}
        for run in runs:
            other = by_level.get(run.concurrency)
            if other and other.rate:
                print(f"  {run.door} {run.concurrency:>4} concurrent: {run.rate:.1f} / "
                      f"{other.rate:.1f} = {run.rate / other.rate:.2f}x")
    mismatched = [r for r in runs if r.cases is not None and r.cases != r.confirmed]
    if args.json:
        Path(args.json).write_text(json.dumps({"product": [r.row() for r in runs],
                                               "stock": [r.row() for r in stock]},
                                              ensure_ascii=False, indent=1))
    if mismatched:
        print("cases opened differ from conversations confirmed: "
              + ", ".join(f"{r.door}@{r.concurrency}: {r.cases} vs {r.confirmed}"
                          for r in mismatched))
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
