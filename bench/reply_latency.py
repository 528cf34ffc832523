"""Staff words → the resident's open chat page, through the console API. Target p95 ≤ 2 s.

    .venv/app/bin/python -m bench.reply_latency                  # 60 samples per path
    .venv/app/bin/python -m bench.reply_latency --samples 100 --redis redis://127.0.0.1:6379/15

The app runs as under `bot run`: uvicorn, `create_app(..., background=True)` with the web
settings' defaults (notifier, watchdog and retry loops at the product's intervals, unless the
environment sets NOTIFIER_INTERVAL & co), on a fresh SQLite store under var/bench/. A resident
has the real /chat page open in headless Chromium; an agent logged in over HTTP (session
cookie + CSRF token) writes, and each sample is timed from just before the HTTP request until
the text is on the page:

- reply:   `POST /api/staff/cases/{n}/actions` {"action": "reply"} (the case's public reply;
           it reaches the page as a 办理进展 update);
- handoff: `POST /api/staff/handoffs/{id}/messages` (a person holding the conversation).

Requests are spaced by a random gap so they land at every phase of the background loops.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

from bench.push_latency import (CHROMIUM, CHROMIUM_ARGS, TARGET_P95, _percentile, _Server,
                                fresh_container, open_chat_case)

AGENT = "bench-agent"
PASSWORD = "基准测试-长密码-2026"
AGENT_CODE = "A-S1P1"            # 文化路社区代理点: the agent of area S1P1G1


def _login(base: str) -> tuple[httpx.Client, dict]:
    client = httpx.Client(base_url=base, timeout=10)
    r = client.post("/api/staff/login", json={"username": AGENT, "password": PASSWORD})
    r.raise_for_status()
    return client, {"X-CSRF-Token": r.json()["csrf_token"]}


def _timed(page, samples: int, gap: float, write, selector: str) -> list[float]:
    """`write(marker)` sends one message; time until `selector % marker` is on the page."""
    latencies = []
    for i in range(samples):
        time.sleep(random.uniform(0, gap))
        marker = f"第{i + 1}次{uuid.uuid4().hex[:4]}"
        started = time.perf_counter()
        write(marker)
        page.wait_for_selector(selector % marker, timeout=15000)
        latencies.append(time.perf_counter() - started)
    return latencies


def run(samples: int, redis_url: str | None) -> tuple[dict[str, list[float]], object]:
    from playwright.sync_api import sync_playwright

    from bot.web.app import create_app
    from bot.web.config import WebSettings
    from bot.web.hub import make_hub

    container = fresh_container("reply")
    container.staff.add(AGENT, "agent", PASSWORD, agent_code=AGENT_CODE, name="基准代理员")
    web = WebSettings.from_env(container.settings)      # the product's intervals
    app = create_app(container, hub=make_hub(redis_url), web=web, background=True)
    results: dict[str, list[float]] = {}
    gap = max(2 * web.notifier_interval, 0.5)
    with _Server(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 390, "height": 844},
                                   locale="zh-CN").new_page()
        page.goto(f"{base}/chat")
        page.wait_for_selector("body[data-ready=yes]")
        sid = page.context.cookies()
        sid = next(c["value"] for c in sid if c["name"] == "jj_chat").split(".")[0]
        staff, csrf = _login(base)

        number = open_chat_case(container, sid)
        staff.post(f"/api/staff/cases/{number}/actions", json={"action": "accept"},
                   headers=csrf).raise_for_status()
        page.wait_for_selector(".update")          # the accept's update: the push path is up

        def reply(marker: str) -> None:
            staff.post(f"/api/staff/cases/{number}/actions", headers=csrf, json={
                "action": "reply", "text": f"{marker}：已联系城管中队，今晚到现场核查"}).raise_for_status()

        results["reply"] = _timed(page, samples, gap, reply, ".update .bubble:has-text('%s：')")

        held, _ = app.state.chat.relay.handoffs.service.open("webchat", sid, number)
        staff.post(f"/api/staff/handoffs/{held.id}/take", headers=csrf).raise_for_status()

        def handoff(marker: str) -> None:
            staff.post(f"/api/staff/handoffs/{held.id}/messages", headers=csrf,
                       json={"text": f"{marker}：您好，我是代理员，正在为您联系"}).raise_for_status()

        results["handoff"] = _timed(page, samples, gap, handoff, ".person .bubble:has-text('%s：')")
        staff.close()
        browser.close()
    container.engine.dispose()
    return results, web


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--redis", help="use Redis pub/sub at this URL instead of in-process")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} missing: run scripts/system_deps.sh as root", file=sys.stderr)
        return 2
    results, web = run(args.samples, args.redis)
    hub = "redis" if args.redis else "in-process"
    print(f"staff → resident's chat page in Chromium ({hub} hub; notifier every "
          f"{web.notifier_interval:g}s, watchdog {web.watchdog_interval:g}s, "
          f"retry {web.retry_interval:g}s; {args.samples} samples each; ms)")
    print(f"{'path':<50}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}  target p95 ≤ "
          f"{TARGET_P95 * 1000:.0f}")
    ok = True
    labels = {"reply": "case reply  POST /api/staff/cases/{n}/actions",
              "handoff": "hand-off    POST /api/staff/handoffs/{id}/messages"}
    for path, values in results.items():
        p95 = _percentile(values, 95)
        ok &= p95 <= TARGET_P95
        print(f"{labels[path]:<50}{statistics.median(values) * 1000:>8.0f}{p95 * 1000:>8.0f}"
              f"{_percentile(values, 99) * 1000:>8.0f}{max(values) * 1000:>8.0f}  "
              f"{'OK' if p95 <= TARGET_P95 else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
