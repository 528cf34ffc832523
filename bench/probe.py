"""Outside robustness / security probe of the running product.

Black-box: it only uses what a browser, an operator or a shell user can see — the chat page's
HTTP API (as chat.js uses it), the intake API (as intake.js uses it), and the `bot` CLI against a
temporary SQLite database. It sends hostile or unusual inputs and classifies every outcome:

  ok     nothing wrong observed
  crash  HTTP 5xx, a dropped connection, a Python traceback in a response or on a CLI's stderr,
         a CLI exit code other than 0/2/3
  hang   no answer within 20 s
  leak   a response shows another resident's data, a full phone number or 身份证号 the request did
         not itself send, internal paths, SQL or stack text
  wrong  a per-input judgement failed (e.g. "着火了" must get a reply that mentions 119)

Run against a product started with raised chat rate limits, for example:

  APP_PORT=8100 ACTION_PORT=5155 RASA_URL=http://127.0.0.1:5105 \
  DATABASE_URL=sqlite:////tmp/probe/cases.db \
  WEBCHAT_RATE_PER_SESSION='10000/minute;100000/hour' WEBCHAT_RATE_PER_ADDRESS=10000/minute \
  .venv/app/bin/bot run

  .venv/app/bin/python -m bench.probe --base http://127.0.0.1:8100 \
      --app-database-url sqlite:////tmp/probe/cases.db --rasa-url http://127.0.0.1:5105 [--json]

The intake door needs an operator (the API is locked to operators and supervisors): give an API
token with --operator-token (or PROBE_OPERATOR_TOKEN), made on the product's database with
`bot staff add probe-op --role operator --password-stdin` and `bot staff token create probe-op`;
without one the intake door is skipped.

--app-database-url (the product's own DATABASE_URL) is optional: with it the probe makes the
product push progress updates to a chat session (via `bot case act ... reply`) to test acks
across sessions. The CLI door always uses its own temporary database.

Everything is sequential, loopback only, and bounded by --budget seconds (default 560).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / ".venv" / "app" / "bin" / "bot"
TIMEOUT = 20.0
OUTCOMES = ("ok", "crash", "hang", "leak", "wrong")

# ---------------------------------------------------------------------------------- detectors

PHONE_RE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
IDNO_RE = re.compile(
    r"(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"[0-9]{3}[0-9Xx](?![0-9Xx])")
PATH_RE = re.compile(
    r"(/work/[\w./-]*|/home/[\w./-]*|/root/[\w./-]*|/usr/lib/python[\w./-]*|/usr/local/lib[\w./-]*"
    r"|site-packages[\w./-]*|\.venv/[\w./-]*|/tmp/[\w./-]*|File \"[^\"]+\", line \d+)")
SQL_RE = re.compile(
    r"(?i)(sqlite3\.\w+|sqlalchemy[\w.]*|psycopg\w*|OperationalError|IntegrityError|ProgrammingError"
    r"|\[SQL:|\bSELECT\b[^\n]{0,80}?\bFROM\b\s+\w+|\bINSERT\s+INTO\s+\w+|\bUPDATE\s+\w+\s+SET\b"
    r"|\bDELETE\s+FROM\s+\w+)")
STACK_RE = re.compile(r"Traceback \(most recent call last\)")
HEX_RE = re.compile(r"[0-9a-f]{16,}")   # hashes (idempotency keys, session ids) are not phones


def norm(text: str) -> str:
    """NFKC (full-width digits → ASCII), casefolded, for 'did the request send this?' checks."""
    return unicodedata.normalize("NFKC", text).casefold()


def squash(text: str) -> str:
    """Digits with their usual separators removed: '138-1234 5678' → '13812345678'."""
    return re.sub(r"[\s\-+()（）]", "", norm(text))


def leak_scan(text: str, sent: str, allowed_paths: tuple[str, ...] = ()) -> str | None:
    """A reason when `text` shows something sensitive the request (`sent`) did not itself send.

    `allowed_paths`: path prefixes the caller owns (a CLI's own temp files), not internal paths."""
    if not text:
        return None
    plain = HEX_RE.sub("#", text)
    sent_n, sent_s = norm(sent), squash(sent)
    for rx, what in ((PHONE_RE, "phone"), (IDNO_RE, "身份证号")):
        for m in rx.finditer(plain):
            v = m.group(0)
            if v.casefold() not in sent_n and v.casefold() not in sent_s:
                return f"{what} {v} not sent by this request/session"
    for rx, what in ((PATH_RE, "internal path"), (SQL_RE, "SQL/driver text")):
        for m in rx.finditer(text):
            v = m.group(0)
            if norm(v) in sent_n or (rx is PATH_RE and any(v.startswith(a) for a in allowed_paths)):
                continue
            return f"{what}: {v[:80]!r}"
    return None


def body_text(r: httpx.Response) -> str:
    """The response as readable text (JSON re-dumped without \\u escapes)."""
    try:
        return json.dumps(r.json(), ensure_ascii=False)
    except Exception:
        try:
            return r.text
        except Exception:
            return repr(r.content[:2000])


def short(value: Any, n: int = 90) -> str:
    if isinstance(value, (bytes, bytearray)):
        s = repr(bytes(value[:n]))
        if len(value) > n:
            s += f"…({len(value)} bytes)"
        return s
    s = value if isinstance(value, str) else repr(value)
    s = s.replace("\n", "⏎")
    return s if len(s) <= n else s[:n] + f"…({len(s)} chars)"


# ---------------------------------------------------------------------------------- records

@dataclass
class Item:
    door: str
    name: str
    input: str
    outcome: str
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Probe:
    base: str
    budget: float
    app_db: str | None
    rasa_url: str | None
    items: list[Item] = field(default_factory=list)
    skipped: int = 0
    cli_files_text: str = ""   # what the probe's own input files say: the operator sent it
    own_paths: tuple[str, ...] = (str(ROOT / "models"), str(ROOT / "var"), tempfile.gettempdir() + "/probe-")
    started: float = field(default_factory=time.monotonic)

    # -- bookkeeping
    def over(self) -> bool:
        return time.monotonic() - self.started > self.budget

    def add(self, door, name, inp, outcome, detail="", seconds=0.0):
        self.items.append(Item(door, name, short(inp), outcome, detail, round(seconds, 2)))

    # -- HTTP
    def http(self, door: str, name: str, client: httpx.Client, method: str, path: str, *,
             inp: Any = None, sent: str = "", check: Callable[[httpx.Response, str], str | None]
             | None = None, **kw) -> httpx.Response | None:
        """One HTTP request, classified. `sent` is everything this request/session sent."""
        if self.over():
            self.skipped += 1
            return None
        t0 = time.monotonic()
        try:
            r = client.request(method, path, timeout=TIMEOUT, **kw)
        except httpx.TimeoutException as exc:
            self.add(door, name, inp, "hang", f"no answer within {TIMEOUT:.0f}s ({type(exc).__name__})",
                     time.monotonic() - t0)
            return None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            self.add(door, name, inp, "crash", f"connection error {type(exc).__name__}: {exc}"[:200],
                     time.monotonic() - t0)
            return None
        dt = time.monotonic() - t0
        text = body_text(r)
        if r.status_code >= 500:
            self.add(door, name, inp, "crash", f"HTTP {r.status_code}: {short(text, 160)}", dt)
        elif STACK_RE.search(text):
            self.add(door, name, inp, "crash", f"traceback in HTTP {r.status_code} response", dt)
        elif (why := leak_scan(text, sent)):
            self.add(door, name, inp, "leak", f"HTTP {r.status_code}: {why}", dt)
        else:
            why = None
            if check is not None:
                try:
                    why = check(r, text)
                except Exception as exc:  # a judgement that cannot even read the answer
                    why = f"unreadable answer ({type(exc).__name__}: {exc})"
            if why:
                self.add(door, name, inp, "wrong", f"HTTP {r.status_code}: {why}", dt)
            else:
                self.add(door, name, inp, "ok", f"HTTP {r.status_code} {short(text, 70)}", dt)
        return r

    # -- CLI
    def cli(self, name: str, args: list, *, db: str, inp: Any = None, stdin: bytes | None = None,
            env: dict | None = None, check: Callable[[int, str, str], str | None] | None = None,
            sent_extra: str = "", limit: float = TIMEOUT, door: str = "cli") -> tuple[int, str, str] | None:
        """One `bot` invocation, classified. Paths under the probe's temp dir and the repo's
        models/ and var/ are the operator's own, not leaks."""
        if self.over():
            self.skipped += 1
            return None
        e = dict(os.environ)
        e.pop("DATABASE_URL", None)
        e["DATABASE_URL"] = db
        e["PYTHONIOENCODING"] = e.get("PYTHONIOENCODING", "utf-8")
        if self.rasa_url:
            e["RASA_URL"] = self.rasa_url
        if env:
            e.update(env)
        cmd = [str(BOT)] + list(args)
        sent = " ".join(a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in args)
        sent += " " + e["DATABASE_URL"] + " " + sent_extra + " " + str(ROOT) + " " + self.cli_files_text
        if stdin:
            sent += " " + stdin.decode("utf-8", "replace")
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, input=stdin if stdin is not None else b"", capture_output=True,
                               timeout=limit, cwd=ROOT, env=e)
        except subprocess.TimeoutExpired:
            self.add(door, name, inp if inp is not None else args, "hang",
                     f"still running after {limit:.0f}s (killed)", time.monotonic() - t0)
            return None
        dt = time.monotonic() - t0
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        shown = inp if inp is not None else " ".join(map(str, args))
        if STACK_RE.search(err) or STACK_RE.search(out):
            last = [ln for ln in err.strip().splitlines() if ln.strip()][-1:] or [""]
            self.add(door, name, shown, "crash", f"exit {p.returncode}, traceback: {short(last[0], 140)}", dt)
        elif p.returncode not in (0, 2, 3):
            self.add(door, name, shown, "crash", f"exit {p.returncode}: {short(err.strip(), 140)}", dt)
        elif dt > TIMEOUT:
            self.add(door, name, shown, "hang", f"answered only after {dt:.0f}s (exit {p.returncode})", dt)
        elif (why := leak_scan(out + "\n" + err, sent, self.own_paths)):
            self.add(door, name, shown, "leak", f"exit {p.returncode}: {why}", dt)
        else:
            why = check(p.returncode, out, err) if check else None
            if why:
                self.add(door, name, shown, "wrong", f"exit {p.returncode}: {why}", dt)
            else:
                self.add(door, name, shown, "ok", f"exit {p.returncode}", dt)
        return p.returncode, out, err


# ---------------------------------------------------------------------------------- inputs

def hostile_strings() -> list[tuple[str, str]]:
    """(name, text) pairs used on several doors."""
    return [
        ("empty", ""),
        ("space", "   "),
        ("newlines", "\n\n\t\n"),
        ("one char", "a"),
        ("5000 chars", "吵" * 5000),
        ("5001 chars", "吵" * 5001),
        ("60k ascii", "A" * 60000),
        ("NUL", "停水\x00了"),
        ("bell+ANSI", "\x07\x1b[31m楼下\x1b[0m太吵\x1b[2J"),
        ("C1 controls", "停电\x85\x9b31m了"),
        ("RTL override", "\u202e楼下太吵\u202c"),
        ("BOM + ZWSP", "\ufeff\u200b\u200b小区停水\u200b"),
        ("zero-width only", "\u200b\u200c\u200d\u2060" * 50),
        ("emoji x100", "😀" * 100),
        ("ZWJ family", "👨‍👩‍👧‍👦👩🏽‍🚒🏳️‍🌈"),
        ("zalgo", "Z̷̢͉a̸l̵g̶o̴ 楼̷下̸吵̶"),
        ("script tag", "<script>alert(document.cookie)</script>楼下太吵"),
        ("img onerror", "<img src=x onerror=alert(1)>小区停水"),
        ("javascript url", "javascript:alert(1)//路灯坏了"),
        ("CDATA/comment", "]]></x><!-- --><?xml version='1.0'?>"),
        ("markdown link", "[点我](http://evil.example/x) ![](http://evil.example/p.png)"),
        ("SQL or", "' OR '1'='1"),
        ("SQL drop", "'; DROP TABLE cases; --"),
        ("SQL union", "\" UNION SELECT sqlite_version(), name FROM sqlite_master --"),
        ("SQL stacked", "1; DELETE FROM webchat_inbox; --"),
        ("jinja", "{{7*7}}{{config}}{% for x in range(3) %}x{% endfor %}"),
        ("shell template", "${7*7} $(id) `id` #{7*7}"),
        ("format string", "%s%s%s%n%x {0.__class__.__mro__} {text!r}"),
        ("python eval", "__import__('os').system('id')"),
        ("path traversal", "../../../../etc/passwd"),
        ("windows traversal", "..\\..\\..\\windows\\win.ini"),
        ("file url", "file:///etc/shadow"),
        ("url-encoded traversal", "%2e%2e%2f%2e%2e%2fetc%2fpasswd"),
        ("5000 digits", "9" * 5000),
        ("huge int", "18446744073709551616"),
        ("negative", "-1"),
        ("float inf", "1e999"),
        ("NaN", "NaN"),
        ("long phone", "我的电话是138123456781381234567813812345678"),
        ("phone 200 digits", "电话" + "1" * 200),
        ("12-digit phone", "电话138123456789，楼下太吵"),
        ("16-digit phone", "电话1381234567812345，小区停水"),
        ("full-width phone", "电话１３８１２３４５６７８，路灯坏了"),
        ("spaced phone", "电话 +86 138-1234-5678，垃圾没人清"),
        ("id number", "我身份证号11010119900307123X，社保办不下来"),
        ("cantonese", "樓下燒烤檔好嘈，成晚瞓唔著"),
        ("traditional", "社區停水兩天了，沒有人管"),
        ("english", "The street light outside my building has been broken for a week"),
        ("japanese", "隣の工事の騒音がうるさいです"),
        ("arabic", "الضوضاء عالية جدا"),
        ("mixed scripts", "楼下KTV noise 太大了 うるさい"),
        ("rasa intent /restart", "/restart"),
        ("rasa intent /affirm", "/affirm"),
        ("rasa entity injection", '/inform{"phone":"99999999999999999999","place":"../../etc"}'),
        ("rasa session_start", "/session_start"),
        ("rasa external intent", "/EXTERNAL_case_update"),
        ("json in text", '{"text":"x","sender":"admin"}'),
        ("newline flood", "\n" * 4000),
        ("repeated word", "投诉" * 2400),
    ]


def gbk(s): return s.encode("gbk")


def sjis(s): return s.encode("shift_jis")


# ---------------------------------------------------------------------------------- chat door

class Session:
    """One resident: a cookie jar, as the chat page has one."""

    def __init__(self, probe: Probe, label: str):
        self.p = probe
        self.label = label
        self.c = httpx.Client(base_url=probe.base, timeout=TIMEOUT, trust_env=False)
        self.sent = ""
        self.ok = False
        try:
            r = self.c.get("/api/chat/session")
            self.ok = r.status_code == 200
        except httpx.HTTPError:
            self.ok = False

    def say(self, name: str, text: str, check=None, *, inp=None) -> tuple[httpx.Response | None, str]:
        self.sent += "\n" + text
        r = self.p.http("chat", name, self.c, "POST", "/api/chat/message", inp=text if inp is None else inp,
                        sent=self.sent, json={"text": text}, check=(lambda r, t: check(reply_of(r))) if check else None)
        return r, reply_of(r) if r is not None else ""

    def cases(self) -> list[dict]:
        try:
            return self.c.get("/api/chat/cases").json().get("cases") or []
        except Exception:
            return []

    def close(self):
        self.c.close()


def reply_of(r: httpx.Response | None) -> str:
    if r is None:
        return ""
    try:
        d = r.json()
    except Exception:
        return ""
    out = []
    for m in d.get("messages") or []:
        if m.get("text"):
            out.append(m["text"])
        for b in m.get("buttons") or []:
            out.append(f"[{b.get('title')}|{b.get('payload')}]")
    if d.get("error"):
        out.append(str(d["error"]))
    return "\n".join(out)


def need(*hotlines: str, why: str = "") -> Callable[[str], str | None]:
    def check(reply: str) -> str | None:
        if not any(h in reply for h in hotlines):
            return f"reply does not mention {'/'.join(hotlines)}{why}: {short(reply, 100)}"
        return None
    return check


def not_threat_or_emergency(reply: str) -> str | None:
    if "人身安全" in reply or "119" in reply or "冷静" in reply:
        return f"everyday phrase treated as threat/emergency: {short(reply, 100)}"
    return None


def as_complaint(reply: str) -> str | None:
    if any(k in reply for k in ("没有查到", "还没有在这里提交过", "您的诉求（", "查询")):
        return f"answered as a status query: {short(reply, 100)}"
    if not any(k in reply for k in ("登记", "什么地方", "地点", "手机号", "核对")):
        return f"not taken as a new complaint: {short(reply, 100)}"
    return None


def polite(reply: str) -> str | None:
    return None if reply.strip() else "empty reply"


CONFIRM_MARK = "请您核对"
OPENED_MARK = "已为您登记诉求"


def chat_door(p: Probe, marker: dict) -> None:
    # ---- plain hostile messages, a fresh session every 8 messages
    s = None
    for i, (name, text) in enumerate(hostile_strings()):
        if s is None or i % 8 == 0:
            if s:
                s.close()
            s = Session(p, f"hostile{i}")
        too_long = len(text) > 5000
        if too_long:
            s.say(name, text, lambda rep: None if "太长" in rep else f"over-long message not refused: {short(rep, 80)}")
        elif not text.strip():
            s.say(name, text, None)
        else:
            s.say(name, text, polite)
    if s:
        s.close()

    # ---- emergencies, crisis, threats in everyday Chinese (each in a fresh session)
    judged = [
        ("fire 着火了", "着火了", need("119")),
        ("fire at home", "家里着火了快来人啊", need("119")),
        ("fire in stairwell", "楼道里起火了，烟好大", need("119")),
        ("fire emoji", "🔥", need("119", why=" (🔥 alone)")),
        ("fire emojis + place", "🔥🔥🔥 楼下", need("119")),
        ("fire traditional", "我家樓下著火了，救命", need("119")),
        ("fire cantonese", "火燭呀！成棟樓都係煙", need("119")),
        ("fire english", "Fire! My building is on fire", need("119")),
        ("gas poisoning", "邻居家好像煤气中毒了，敲门没人应", need("120", "119", "110")),
        ("unconscious", "有个老人倒在路边不省人事了", need("120")),
        ("knife attack", "有人拿着刀在小区里砍人", need("110")),
        ("traffic injury", "门口车撞了人，人躺在地上不动", need("120", "122", "110")),
        ("crisis 不想活了", "我不想活了", need("12356", why=" (crisis line)")),
        ("crisis 一了百了", "活着真没意思，想一了百了", need("12356")),
        ("crisis jump", "我现在就站在楼顶，想跳下去", need("12356", "110", "120")),
        ("crisis suicide", "我想自杀", need("12356")),
        ("crisis traditional", "我不想活了，真的好累", need("12356")),
        ("threat bomb office", "要炸了你们办公室", need("110", why=" (threat)")),
        ("threat 再不解决", "再不解决我就炸了你们办公室", need("110")),
        ("threat knife", "我明天带刀去你们单位找你们", need("110")),
        ("threat arson", "信不信我一把火把你们大楼点了", need("110", "119")),
        ("control 气炸了", "我肺都要气炸了，楼下天天半夜施工", not_threat_or_emergency),
        ("control 火锅油烟", "楼下火锅店油烟太大，呛得受不了", not_threat_or_emergency),
        ("control 火车站", "火车站门口乱停车堵得要命", not_threat_or_emergency),
        ("control 火爆", "小区门口新开的奶茶店太火爆，排队堵路", not_threat_or_emergency),
        ("control 炸鸡", "楼下炸鸡店油烟直冲我家窗户", not_threat_or_emergency),
        ("phone+complaint", "我电话13812345678，楼下工地半夜施工太吵了", as_complaint),
        ("phone first", "13912345678 小区停水两天了没人管", as_complaint),
        ("phone full-width+complaint", "１５０１２３４５６７８，楼下饭店油烟太大", as_complaint),
        ("查 then complaint", "我想查一下……算了，我要反映：楼下垃圾三天没人清，电话18612345678", as_complaint),
        ("number-like complaint", "20261202 那天开始小区就停电了，电话13712345678", as_complaint),
        ("short complaint + phone", "小区停电了，电话13712345678", as_complaint),
        ("place+complaint+phone", "紫藤花园十七栋楼下垃圾站臭气熏天，电话13700003333", as_complaint),
        ("complaint + 我电话", "垃圾站臭气熏天，我电话13700004444", as_complaint),
        ("complaint only (control)", "小区停电了", as_complaint),
    ]
    for name, text, check in judged:
        s = Session(p, name)
        s.say(name, text, check)
        s.close()

    # ---- consent: an emoji at the confirmation step must not open a case
    for emoji in ["👍", "👌", "😊", "🙏", "❤️", "👍👍👍", "✅", "🆗"]:
        s = Session(p, "emoji")
        s.say("consent setup: report", "小区门口的路灯坏了一个星期了", polite)
        s.say("consent setup: place", "在文化路社区", polite)
        s.say("consent setup: anonymous", "/anonymous",
              lambda rep: None if CONFIRM_MARK in rep else f"flow did not reach the confirmation step: {short(rep, 80)}")
        before = len(s.cases())
        s.say(f"emoji {emoji} at confirmation", emoji,
              lambda rep, before=before, s=s: (f"emoji taken as consent: {short(rep, 80)}"
                                               if OPENED_MARK in rep or len(s.cases()) > before else None))
        s.close()

    # ---- place corrections followed by 确认 (3,000 characters, and a short control)
    long_place = ("幸福小区" * 750)[:3000]
    corrections = [
        ("place correction 3000 + 确认", "地点改成" + long_place),
        ("place correction 3000 (地址不对) + 确认", "地址不对，应该是" + ("人民路" + "八十八号院" * 600)[:3000]),
        ("place correction 3000 (不是…是) + 确认", "不是文化路社区，是" + ("和平里" * 1000)[:3000]),
        ("place correction short + 确认 (control)", "地点改成幸福小区3栋"),
    ]
    for name, corr in corrections:
        s = Session(p, name)
        s.say(name + ": report", "小区门口的路灯坏了一个星期了", polite)
        s.say(name + ": place", "在文化路社区", polite)
        s.say(name + ": anonymous", "/anonymous", None)

        def corr_check(rep: str) -> str | None:
            if "事项：地点改成" in rep or "事项：地址不对" in rep or "事项：不是文化路" in rep:
                return "the place correction replaced the matter (事项) instead of the place"
            if "路灯" not in rep and CONFIRM_MARK in rep:
                return "the original matter is gone from the confirmation"
            return None if rep.strip() else "empty reply"
        s.say(name + ": correction", corr, corr_check, inp=f"{corr[:20]}…({len(corr)} chars)")

        def after_confirm(rep: str, s=s) -> str | None:
            cases = s.cases()
            if OPENED_MARK not in rep and not cases:
                return f"确认 opened no case: {short(rep, 80)}"
            if cases and "路灯" not in (cases[0].get("summary") or ""):
                return f"case opened with the wrong matter: {short(cases[0].get('summary'), 60)}"
            return None
        s.say(name + ": 确认", "确认", after_confirm)
        s.close()

    # ---- phone answers at the phone question
    phones = [
        ("phone answer 12 digits", "138123456789", False),
        ("phone answer 16 digits", "1381234567812345", False),
        ("phone answer 33 digits", "138123456781381234567813812345678", False),
        ("phone answer 5000 digits", "1" * 5000, False),
        ("phone answer id number", "11010119900307123X", False),
        ("phone answer full-width", "１３８１２３４５６７８", True),
        ("phone answer spaced +86", "+86 138 1234 5678", True),
        ("phone answer 10 digits", "1381234567", False),
    ]
    for name, answer, valid in phones:
        s = Session(p, name)
        s.say(name + ": report", "楼下烧烤店每天半夜吵得睡不着", polite)
        s.say(name + ": place", "在文化路社区", polite)

        def phone_check(rep: str, valid=valid) -> str | None:
            accepted = CONFIRM_MARK in rep and re.search(r"联系方式：[^\n]*\d+\*{2,}\d+", rep)
            if valid and not accepted:
                return f"valid phone not accepted: {short(rep, 80)}"
            if not valid and accepted:
                return f"invalid number accepted as the contact phone: {short(re.search(r'联系方式：[^⏎]*', rep.replace(chr(10), '⏎')).group(0), 60)}"
            return None
        s.say(name, answer, phone_check)
        s.close()

    # ---- HTTP-level hostile bodies on /api/chat/message
    s = Session(p, "bodies")
    raw = [
        ("1 MB body", b'{"text":"' + b"a" * (1 << 20) + b'"}', "application/json"),
        ("1 MB garbage", os.urandom(1 << 20), "application/json"),
        ("binary", bytes(range(256)), "application/json"),
        ("GBK no charset", gbk('{"text":"小区停水了"}'), "application/json"),
        ("GBK charset=gbk", gbk('{"text":"小区停水了"}'), "application/json; charset=gbk"),
        ("Shift-JIS", sjis('{"text":"騒音"}'), "application/json"),
        ("Shift-JIS charset", sjis('{"text":"騒音"}'), "application/json; charset=shift_jis"),
        ("UTF-16 BOM no charset", '{"text":"小区停水了"}'.encode("utf-16"), "application/json"),
        ("UTF-16 BOM charset", '{"text":"小区停水了"}'.encode("utf-16"), "application/json; charset=utf-16"),
        ("UTF-16LE no BOM", '{"text":"小区停水了"}'.encode("utf-16-le"), "application/json; charset=utf-16le"),
        ("UTF-8 BOM", b"\xef\xbb\xbf" + '{"text":"小区停水了"}'.encode(), "application/json"),
        ("CESU surrogate bytes", b'{"text":"\xed\xa0\x80"}', "application/json"),
        ("lone surrogate escape", b'{"text":"\\ud800\\udfff\\ud800"}', "application/json"),
        ("lone low surrogate", b'{"text":"\\udc00abc"}', "application/json"),
        ("NUL escape", b'{"text":"\\u0000"}', "application/json"),
        ("deep list 10000", b"[" * 10000 + b"]" * 10000, "application/json"),
        ("deep object 10000", b'{"text":' + b'{"a":' * 10000 + b"1" + b"}" * 10001, "application/json"),
        ("5000-digit number", b'{"text":' + b"9" * 5000 + b"}", "application/json"),
        ("5000-digit float", b'{"text":0.' + b"1" * 5000 + b"}", "application/json"),
        ("text list", '{"text":["楼下太吵"]}'.encode(), "application/json"),
        ("text number", b'{"text":12345}', "application/json"),
        ("text object", b'{"text":{"$ne":null}}', "application/json"),
        ("text null", b'{"text":null}', "application/json"),
        ("text bool", b'{"text":true}', "application/json"),
        ("top-level list", '["楼下太吵"]'.encode(), "application/json"),
        ("top-level string", '"楼下太吵"'.encode(), "application/json"),
        ("top-level number", b"1e400", "application/json"),
        ("NaN literal", b'{"text":NaN}', "application/json"),
        ("duplicate keys", '{"text":"a","text":"小区停水"}'.encode(), "application/json"),
        ("extra fields", '{"text":"停水","sender":"other","session":"x","__proto__":{"admin":1}}'.encode(), "application/json"),
        ("empty body", b"", "application/json"),
        ("truncated JSON", '{"text":"停'.encode(), "application/json"),
        ("form body", "text=停水".encode(), "application/x-www-form-urlencoded"),
        ("text/plain", "停水".encode(), "text/plain"),
        ("no content-type", '{"text":"停水"}'.encode(), None),
        ("multipart", b"--x\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n\xe5\x81\x9c\r\n--x--\r\n",
         "multipart/form-data; boundary=x"),
    ]
    for name, body, ctype in raw:
        headers = {"content-type": ctype} if ctype else {}

        def ok4xx(r, t, name=name):
            if name in ("GBK charset=gbk", "UTF-16 BOM charset", "UTF-16LE no BOM", "UTF-8 BOM", "duplicate keys") \
                    and r.status_code == 200:
                return None
            if r.status_code == 200 and name not in ("extra fields",):
                return f"accepted a malformed/wrongly-typed body: {short(t, 80)}"
            return None
        p.http("chat", f"message body: {name}", s.c, "POST", "/api/chat/message", inp=body,
               sent=body.decode("utf-8", "replace"), content=body, headers=headers, check=ok4xx)

    # other methods and routes
    for method, path in [("GET", "/api/chat/message"), ("PUT", "/api/chat/message"), ("DELETE", "/api/chat/cases"),
                         ("GET", "/api/chat/cases/" + "9" * 5000), ("GET", "/api/chat/cases/-1"),
                         ("GET", "/api/chat/cases/18446744073709551616"),
                         ("GET", "/api/chat/cases/..%2F..%2F..%2Fetc%2Fpasswd"),
                         ("GET", "/api/chat/cases/%2e%2e"), ("GET", "/api/chat/cases/%00"),
                         ("GET", "/api/chat/cases/' OR '1'='1"), ("GET", "/api/chat/cases/%F0%9F%94%A5"),
                         ("GET", "/api/chat/cases/%ED%A0%80"), ("GET", "/api/chat/cases/%FF%FE"),
                         ("GET", "/api/chat/updates?after=18446744073709551616"),
                         ("GET", "/api/chat/updates?after=-1"), ("GET", "/api/chat/updates?after=" + "9" * 5000),
                         ("GET", "/api/chat/updates?after=abc&limit=99999999999"),
                         ("GET", "/static/../../bot/cli.py"), ("GET", "/static/..%2F..%2F.env"),
                         ("GET", "/static/%2e%2e/%2e%2e/README.md"), ("GET", "/intake/..%2F..%2Fdata%2Ftaxonomy.yml"),
                         ("GET", "/static/chat.js%00.png"), ("GET", "/chat?" + "a=" + "x" * 8000),
                         ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/var/webchat.key"),
                         ("GET", "/.env"), ("GET", "/.git/config"), ("POST", "/api/chat/session"),
                         ("OPTIONS", "/api/chat/message"), ("TRACE", "/api/chat/message")]:
        def route_check(r, t, path=path):
            if "/static/" in path or "/intake/" in path or path in ("/.env", "/.git/config", "/var/webchat.key"):
                if r.status_code == 200 and not path.startswith("/static/chat.js"):
                    return f"served a file outside the static folder: {short(t, 80)}"
            return None
        p.http("chat", f"route {method} {short(path, 50)}", s.c, method, path, inp=f"{method} {path}",
               sent=urllib.parse.unquote(path), check=route_check)

    # ack bodies
    for name, body in [("ids huge", {"ids": [18446744073709551616]}), ("ids negative", {"ids": [-1]}),
                       ("ids 5000 digits", None), ("ids strings", {"ids": ["1", "x"]}),
                       ("ids nested", {"ids": [[1]]}), ("ids null", {"ids": None}), ("ids object", {"ids": {"1": 1}}),
                       ("ids float", {"ids": [1.5]}), ("ids bool", {"ids": [True]}),
                       ("ids 100000", {"ids": list(range(100000))}), ("ids empty", {"ids": []}),
                       ("no ids", {}), ("ids sql", {"ids": ["1 OR 1=1"]})]:
        content = (b'{"ids":[' + b"9" * 5000 + b"]}") if body is None else json.dumps(body).encode()
        p.http("chat", f"ack {name}", s.c, "POST", "/api/chat/ack", inp=content, sent=content.decode(),
               content=content, headers={"content-type": "application/json"})
    s.close()

    # ---- SSE stream (as the page listens), with a real and a forged cookie
    for name, cookie in [("real session", None), ("forged cookie", "jj_chat=deadbeef.deadbeef"),
                         ("garbage cookie", "jj_chat=%00%ff../../")]:
        p_sse(p, name, cookie)

    # ---- another session's ids, forged cookies
    other_sessions(p, marker)


def p_sse(p: Probe, name: str, cookie: str | None) -> None:
    if p.over():
        p.skipped += 1
        return
    c = httpx.Client(base_url=p.base, timeout=TIMEOUT, trust_env=False)
    t0 = time.monotonic()
    try:
        if cookie is None:
            c.get("/api/chat/session")
            headers = {}
        else:
            headers = {"cookie": cookie}
        with c.stream("GET", "/api/chat/events", headers=headers, timeout=httpx.Timeout(TIMEOUT)) as r:
            first = b""
            for chunk in r.iter_bytes():
                first = chunk
                break
            text = first.decode("utf-8", "replace")
            if r.status_code >= 500:
                p.add("chat", f"SSE events: {name}", cookie or "(page cookie)", "crash", f"HTTP {r.status_code}",
                      time.monotonic() - t0)
            elif (why := leak_scan(text, "")):
                p.add("chat", f"SSE events: {name}", cookie or "(page cookie)", "leak", why, time.monotonic() - t0)
            else:
                p.add("chat", f"SSE events: {name}", cookie or "(page cookie)", "ok",
                      f"HTTP {r.status_code} first bytes {short(text, 30)}", time.monotonic() - t0)
    except httpx.TimeoutException:
        p.add("chat", f"SSE events: {name}", cookie or "(page cookie)", "hang", "no first byte within 20s",
              time.monotonic() - t0)
    except httpx.HTTPError as exc:
        p.add("chat", f"SSE events: {name}", cookie or "(page cookie)", "crash", f"{type(exc).__name__}: {exc}",
              time.monotonic() - t0)
    finally:
        c.close()


MARK_TEXT = "紫藤花园十七栋楼下的垃圾站臭气熏天"
MARK_PLACE = "紫藤花园十七栋"
MARK_PHONE = "13700001111"


def other_sessions(p: Probe, marker: dict) -> None:
    """Session A opens a case with a unique phone/place; B and forged cookies must never see it."""
    a = Session(p, "A")
    _, rep = a.say("A: marker complaint", MARK_TEXT, polite)
    # answer whatever the bot asks, like a patient resident, until the confirmation step
    for turn in range(6):
        if CONFIRM_MARK in rep:
            break
        if "什么地方" in rep or "地点" in rep:
            _, rep = a.say("A: place", MARK_PLACE, polite)
        elif "手机号" in rep or "电话" in rep:
            _, rep = a.say("A: phone", MARK_PHONE, polite)
        elif "什么时候" in rep:
            _, rep = a.say("A: time", "好几天了", polite)
        else:
            break
    a.say("A: 确认", "确认", lambda rep: None if OPENED_MARK in rep else f"A's case not opened: {short(rep, 80)}")
    cases = a.cases()
    number = cases[0]["number"] if cases else None
    marker["number"] = number
    cookie = a.c.cookies.get("jj_chat") or ""
    ids: list[int] = []
    # make the product push to A (a public reply on A's case), if we know the product's database
    if number and p.app_db and not p.over():
        p.cli("push: reply on A's case (app db)", ["case", "act", number, "reply", "--text", "已安排人员处理"],
              db=p.app_db, inp=f"case act {number} reply")
        for _ in range(25):
            try:
                items = a.c.get("/api/chat/updates").json().get("items") or []
            except Exception:
                items = []
            ids = [i["id"] for i in items if isinstance(i, dict) and "id" in i]
            if ids:
                break
            time.sleep(0.3)
        p.add("chat", "A: push arrives in /api/chat/updates", f"case {number}",
              "ok" if ids else "wrong", f"inbox ids {ids}" if ids else "no push within 7.5s of a public reply")

    b = Session(p, "B")
    hidden = number or "20261202-0001"

    def not_a(r, t):
        if MARK_PLACE in t or MARK_PHONE in t:
            return "shows session A's case"
        return None
    p.http("chat", "B: GET A's case by number", b.c, "GET", f"/api/chat/cases/{hidden}", inp=hidden,
           sent=hidden, check=lambda r, t: not_a(r, t) or (f"HTTP {r.status_code} for another session's case"
                                                            if r.status_code == 200 else None))
    p.http("chat", "B: list cases", b.c, "GET", "/api/chat/cases", inp="(B cookie)", sent="", check=not_a)
    b.say("B: asks for A's number in chat", hidden, lambda rep: "shows A's case" if MARK_PLACE in rep else None)
    b.say("B: asks for A's number + phone", f"查询 {hidden} 电话是多少", lambda rep: "shows A's case" if MARK_PLACE in rep else None)
    b.say("B: SQL on case number", f"{hidden}' OR '1'='1", lambda rep: "shows A's case" if MARK_PLACE in rep else None)
    b.say("B: claims A's phone", f"我的电话是{MARK_PHONE}，帮我查我的诉求",
          lambda rep: "shows A's case to someone who only knows the phone" if MARK_PLACE in rep else None)
    if ids:
        p.http("chat", "B: ack A's inbox ids", b.c, "POST", "/api/chat/ack", inp=f"ids {ids}", sent=str(ids),
               json={"ids": ids})

        def still_there(r, t):
            got = [i.get("id") for i in (r.json().get("items") or [])]
            missing = [i for i in ids if i not in got]
            return f"B's ack removed A's pushes {missing}" if missing else None
        p.http("chat", "A: pushes survive B's ack", a.c, "GET", "/api/chat/updates", inp="(A cookie)",
               sent=a.sent + MARK_TEXT, check=still_there)
    p.http("chat", "B: updates", b.c, "GET", "/api/chat/updates", inp="(B cookie)", sent="", check=not_a)
    b.close()

    # forged cookies derived from A's
    sid, _, sig = cookie.partition(".")
    forged = [
        ("flipped signature", f"{sid}.{sig[:-1]}{'0' if sig[-1:] != '0' else '1'}" if sig else "x.y"),
        ("A sid, no signature", sid or "x"),
        ("A sid, empty signature", f"{sid}."),
        ("A sid, B-style random sig", f"{sid}.{'ab' * 16}"),
        ("signature only", f".{sig}"),
        ("A cookie uppercased", cookie.upper()),
        ("A cookie + suffix", cookie + "00"),
        ("A cookie, sid + 1 hex", (sid[:-1] + ("0" if sid[-1:] != "0" else "1") + "." + sig) if sid else "z"),
        ("path traversal", "../../var/webchat.key"),
        ("sql", "' OR '1'='1"),
        ("4 KB", "a" * 4096),
        ("16 KB", "b" * 16384),
        ("json", '{"sid":"admin"}'),
        ("percent junk", "%00%ff%fe"),
        ("int 2^64", "18446744073709551616"),
    ]
    for name, value in forged:
        c = httpx.Client(base_url=p.base, timeout=TIMEOUT, trust_env=False)
        hdr = {"cookie": f"jj_chat={value}"}
        p.http("chat", f"forged cookie {name}: cases", c, "GET", "/api/chat/cases", inp=value, sent="",
               headers=hdr, check=not_a)
        c.close()
    # duplicate cookies: A's real one plus a forged one, both orders
    for name, hdr in [("A then forged", f"jj_chat={cookie}; jj_chat=x.y"), ("forged then A", f"jj_chat=x.y; jj_chat={cookie}")]:
        c = httpx.Client(base_url=p.base, timeout=TIMEOUT, trust_env=False)
        p.http("chat", f"duplicate cookie {name}", c, "GET", "/api/chat/cases", inp=hdr, sent=MARK_TEXT + MARK_PLACE,
               headers={"cookie": hdr})
        c.close()
    # a forged cookie posting a message must not continue A's conversation
    c = httpx.Client(base_url=p.base, timeout=TIMEOUT, trust_env=False)
    p.http("chat", "forged cookie: message 查询我的诉求", c, "POST", "/api/chat/message",
           inp="查询我的诉求", sent="查询我的诉求", json={"text": "查询我的诉求"},
           headers={"cookie": f"jj_chat={sid}.{'0' * len(sig)}"}, check=not_a)
    c.close()
    # A acks its own pushes: then they are gone (the ack works at all)
    if ids:
        p.http("chat", "A: ack own pushes", a.c, "POST", "/api/chat/ack", inp=f"ids {ids}", sent=str(ids), json={"ids": ids})

        def gone(r, t):
            got = [i.get("id") for i in (r.json().get("items") or [])]
            return f"acked pushes still listed {got}" if any(i in got for i in ids) else None
        p.http("chat", "A: acked pushes gone", a.c, "GET", "/api/chat/updates", inp="(A cookie)",
               sent=a.sent, check=gone)
    a.close()


# ---------------------------------------------------------------------------------- intake door

def proposal_check(expect: Callable[[dict], str | None]) -> Callable[[httpx.Response, str], str | None]:
    def check(r, t):
        if r.status_code != 200:
            return f"no proposal: {short(t, 80)}"
        return expect(r.json())
    return check


def urgency(level_ok: set[str], hotline: str | None = None):
    def f(d):
        u = d.get("urgency") or {}
        lv = u.get("level")
        if lv not in level_ok:
            return f"urgency {lv!r}, expected {sorted(level_ok)} ({u.get('reason')})"
        if hotline:
            hl = json.dumps(u, ensure_ascii=False)
            if hotline not in hl:
                return f"urgency does not name {hotline}: {short(hl, 80)}"
        return None
    return f


def phone_is(expected: str | None):
    def f(d):
        got = d.get("phone")
        valid = (d.get("phone_detail") or {}).get("valid")
        if expected is None:
            if got and valid:
                return f"invalid number proposed as a valid phone: {got}"
            return None
        return None if got == expected else f"phone {got!r}, expected {expected}"
    return f


def intake_door(p: Probe, token: str) -> None:
    c = httpx.Client(base_url=p.base, timeout=TIMEOUT, trust_env=False,
                     headers={"authorization": f"Bearer {token}"})
    T = {"content-type": "text/plain; charset=utf-8"}
    J = {"content-type": "application/json"}

    p.http("intake", "options", c, "GET", "/api/intake/options", inp="GET /api/intake/options")

    # hostile strings as a pasted transcript and as the JSON text field
    for name, text in hostile_strings():
        body = ("市民：" + text).encode("utf-8", "surrogatepass")
        p.http("intake", f"text: {name}", c, "POST", "/api/intake", inp=text, sent=text, content=body, headers=T)
    for name, text in hostile_strings():
        body = json.dumps({"text": text}, ensure_ascii=False).encode()
        p.http("intake", f"json: {name}", c, "POST", "/api/intake", inp=text, sent=text, content=body, headers=J)

    # bodies: encodings, binary, huge, deep, wrong types
    src = "市民：我们小区从昨天晚上就停水了，在文化路社区。"

    def decoded_or_refused(r, t):
        if r.status_code == 200 and "停水" not in t:
            return f"accepted but the text was mis-decoded: {short((r.json() or {}).get('text'), 60)}"
        return None
    bodies = [
        ("GBK no charset", gbk(src), "text/plain", decoded_or_refused),
        ("GBK charset=gbk", gbk(src), "text/plain; charset=gbk", decoded_or_refused),
        ("GB18030 charset", src.encode("gb18030"), "text/plain; charset=gb18030", decoded_or_refused),
        ("Shift-JIS no charset", sjis("市民：騒音がうるさい"), "text/plain", None),
        ("Shift-JIS charset", sjis("市民：騒音がうるさい"), "text/plain; charset=shift_jis", None),
        ("UTF-16 BOM no charset", src.encode("utf-16"), "text/plain", decoded_or_refused),
        ("UTF-16 BOM charset", src.encode("utf-16"), "text/plain; charset=utf-16", decoded_or_refused),
        ("UTF-16LE no BOM no charset", src.encode("utf-16-le"), "text/plain", decoded_or_refused),
        ("UTF-16LE no BOM charset", src.encode("utf-16-le"), "text/plain; charset=utf-16le", decoded_or_refused),
        ("UTF-16BE no BOM", src.encode("utf-16-be"), "text/plain", decoded_or_refused),
        ("UTF-8 BOM", b"\xef\xbb\xbf" + src.encode(), "text/plain", decoded_or_refused),
        ("wrong charset label", src.encode(), "text/plain; charset=iso-8859-1", decoded_or_refused),
        ("bogus charset", src.encode(), "text/plain; charset=x-klingon", None),
        ("JSON GBK", gbk(json.dumps({"text": src}, ensure_ascii=False)), "application/json", decoded_or_refused),
        ("JSON UTF-16", json.dumps({"text": src}, ensure_ascii=False).encode("utf-16"), "application/json",
         decoded_or_refused),
        ("binary", bytes(range(256)) * 4, "text/plain", None),
        ("random 64 KB", random.Random(7).randbytes(65536), "application/octet-stream", None),
        ("1 MB text", ("市民：楼下太吵。" * 80000).encode()[: 1 << 20], "text/plain; charset=utf-8", None),
        ("1 MB JSON", json.dumps({"text": "停水" * 300000}, ensure_ascii=False).encode(), "application/json", None),
        ("empty", b"", "text/plain", None),
        ("empty JSON", b"", "application/json", None),
        ("CESU surrogate", b"\xe5\xb8\x82\xe6\xb0\x91\xef\xbc\x9a\xed\xa0\x80\xed\xb0\x80", "text/plain", None),
        ("JSON lone surrogate", b'{"text":"\\ud800 \xe5\x81\x9c\xe6\xb0\xb4"}', "application/json", None),
        ("NUL bytes", b"\x00" * 100 + src.encode(), "text/plain", None),
        ("deep list 10000", b"[" * 10000 + b"]" * 10000, "application/json", None),
        ("deep object 10000", b'{"text":' + b'{"a":' * 10000 + b"1" + b"}" * 10001, "application/json", None),
        ("deep text-looking", b"[" * 10000, "text/plain", None),
        ("5000-digit number", b'{"text":' + b"9" * 5000 + b"}", "application/json", None),
        ("5000-digit in list", b"[" + b"9" * 5000 + b"]", "application/json", None),
        ("text number", b'{"text": 123}', "application/json", None),
        ("text list", b'{"text": ["a", "b"]}', "application/json", None),
        ("text object", b'{"text": {"a": 1}}', "application/json", None),
        ("text null", b'{"text": null}', "application/json", None),
        ("top number", b"42", "application/json", None),
        ("top string", '"市民：停水"'.encode(), "application/json", None),
        ("top null", b"null", "application/json", None),
        ("list of numbers", b"[1,2,3]", "application/json", None),
        ("list of 2000", json.dumps([{"text": "市民：停水"}] * 2000).encode(), "application/json", None),
        ("ids beyond 64 bits", json.dumps({"id": 18446744073709551617, "text": "市民：停水"}).encode(),
         "application/json", None),
        ("id path traversal", json.dumps({"id": "../../../etc/passwd", "source": "../../var/x", "text": "市民：停水"}).encode(),
         "application/json", None),
        ("phone field 5000", json.dumps({"text": "市民：停水", "phone": "1" * 5000}).encode(), "application/json", None),
        ("phone field number", json.dumps({"text": "市民：停水", "phone": 13812345678}).encode(), "application/json", None),
        ("NaN", b'{"text": NaN}', "application/json", None),
        ("truncated JSON", b'{"text": "\xe5\x81', "application/json", None),
        ("JSON as text/plain", json.dumps({"text": src}).encode(), "text/plain", None),
        ("form body", ("text=" + urllib.parse.quote(src)).encode(), "application/x-www-form-urlencoded", None),
        ("no content type", src.encode(), None, None),
        ("CSV body", ("内容,电话\n" + src + ",13812345678\n").encode(), "text/csv", None),
        ("JSONL body", (json.dumps({"text": src}, ensure_ascii=False) + "\n{bad\n").encode(), "application/x-ndjson", None),
        ("xlsx-looking", b"PK\x03\x04" + os.urandom(200), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", None),
        ("CRLF + control", ("市民：停水\r\n\x1b[2J\x08\x08\x7f话务员：好的\r\n").encode(), "text/plain", None),
        ("only operator lines", "话务员：您好，请讲。\n话务员：喂？\n话务员：挂了。".encode(), "text/plain", None),
    ]
    for name, body, ctype, check in bodies:
        headers = {"content-type": ctype} if ctype else {}
        p.http("intake", f"body: {name}", c, "POST", "/api/intake", inp=body,
               sent=body.decode("utf-8", "replace") + src, content=body, headers=headers, check=check)

    # judgements on proposals
    judged = [
        ("fire", "市民：我家楼下着火了，烟很大，在文化路社区", urgency({"emergency"}, "119")),
        ("fire 🔥", "市民：🔥🔥 楼下饭店 🔥", urgency({"emergency"}, "119")),
        ("fire traditional", "市民：我家樓下著火了，快派人來", urgency({"emergency"}, "119")),
        ("gas leak", "市民：楼道里一股很浓的煤气味，邻居家没人", urgency({"emergency", "urgent"})),
        ("crisis", "市民：我不想活了，欠的钱还不上", urgency({"emergency", "urgent", "crisis"}, "12356")),
        ("threat", "市民：再不给我解决我就炸了你们办公室", urgency({"emergency", "urgent", "threat"})),
        ("control 气炸了", "市民：我都快气炸了，楼下天天半夜施工", urgency({"normal", "urgent"})),
        ("control 火锅店", "市民：楼下火锅店油烟太大", urgency({"normal"})),
        ("phone full-width", "市民：停水了，我电话是１３８１２３４５６７８", phone_is("13812345678")),
        ("phone spaced", "市民：停水了，电话 138 1234 5678", phone_is("13812345678")),
        ("phone 12 digits", "市民：停水了，电话138123456789", phone_is(None)),
        ("phone 16 digits", "市民：停水了，电话1381234567812345", phone_is(None)),
        ("phone 33 digits", "市民：停水了，电话138123456781381234567813812345678", phone_is(None)),
        ("phone 200 digits", "市民：停水了，电话" + "1" * 200, phone_is(None)),
        ("id number only", "市民：社保卡补办，身份证号11010119900307123X", phone_is(None)),
        ("id number digits only", "市民：社保卡补办，身份证110101199003071234", phone_is(None)),
        ("phone in operator line", "话务员：您的电话是13812345678吗？\n市民：对。小区停水了。", None),
        ("cantonese", "市民：我哋條村停咗水成日啦，冇人理", None),
        ("english", "Caller: the water has been off since yesterday in Wenhua Road community", None),
        ("traditional", "市民：社區停水兩天了，電話13812345678", None),
        ("status question", "市民：我想问一下上次反映的20261202-0001办得怎么样了", None),
        ("3000-char address", "市民：小区停水了，地址是" + ("幸福路" * 1000), None),
    ]
    for name, text, check in judged:
        p.http("intake", f"judge: {name}", c, "POST", "/api/intake", inp=text, sent=text, content=text.encode(),
               headers=T, check=proposal_check(check) if check else None)

    # another resident's data via the duplicates list: a call similar to chat session A's marker case
    def dup_check(r, t):
        return "duplicate list shows A's phone in full" if MARK_PHONE in t else None
    p.http("intake", "duplicates of A's case (no phone sent)", c, "POST", "/api/intake",
           inp="市民：紫藤花园十七栋垃圾站很臭", sent="市民：紫藤花园十七栋垃圾站很臭",
           content="市民：紫藤花园十七栋楼下的垃圾站臭气熏天".encode(), headers=T, check=dup_check)
    p.http("intake", "duplicates of a phone+complaint chat case", c, "POST", "/api/intake",
           inp="市民：楼下工地半夜施工太吵了", sent="市民：楼下工地半夜施工太吵了",
           content="市民：楼下工地半夜施工太吵了".encode(), headers=T)

    # confirm: a valid proposal, then corrections of every wrong kind
    r = None
    try:
        r = c.post("/api/intake", content="市民：小区门口的路灯坏了一个星期了，在文化路社区，电话13812345678。".encode(),
                   headers=T)
        base = r.json()
        assert isinstance(base, dict) and "key" in base
    except Exception as exc:
        p.add("intake", "confirm: base proposal", "路灯坏了", "crash" if r is not None and r.status_code >= 500 else "wrong",
              f"no usable proposal ({type(exc).__name__})")
        c.close()
        return
    sent_base = json.dumps(base, ensure_ascii=False)

    # every confirm gets its own call (a distinct transcript), so that a correction is judged on
    # its own and not answered by the idempotent "this call was registered already"
    tag = "".join(chr(97 + int(ch, 16)) for ch in f"{time.time_ns():x}"[-8:])

    def with_key(prop: dict, k: str) -> dict:
        text = f"市民：小区门口的路灯坏了一个星期了，在文化路社区，电话13812345678。来电标记{tag}{k}"
        try:
            q = c.post("/api/intake", content=text.encode(), headers=T, timeout=TIMEOUT).json()
            if isinstance(q, dict) and "key" in q:
                return q
        except Exception:
            pass
        return dict(prop, key=f"{prop.get('key')}-{tag}{k}")

    def must_refuse(r, t):
        if r.status_code != 200:
            return None
        d = r.json()
        return (f"accepted (case {(d.get('case') or {}).get('number')}"
                f"{', existing' if d.get('existing') else ', new'})")
    first = with_key(base, "a")

    confirms = [
        ("no corrections", {"proposal": first, "corrections": {}}, None),
        ("empty body object", {}, must_refuse),
        ("proposal null", {"proposal": None, "corrections": {}}, must_refuse),
        ("proposal string", {"proposal": "x", "corrections": {}}, must_refuse),
        ("proposal list", {"proposal": [base], "corrections": {}}, must_refuse),
        ("corrections list", {"proposal": with_key(base, "b"), "corrections": [1]}, must_refuse),
        ("category bogus", {"proposal": with_key(base, "c"), "corrections": {"category": "no.such"}}, must_refuse),
        ("category traversal", {"proposal": with_key(base, "d"), "corrections": {"category": "../../etc/passwd"}}, must_refuse),
        ("category number", {"proposal": with_key(base, "e"), "corrections": {"category": 12345}}, must_refuse),
        ("category object", {"proposal": with_key(base, "f"), "corrections": {"category": {"code": "env.noise"}}}, None),
        ("area bogus", {"proposal": with_key(base, "g"), "corrections": {"area": "'; DROP TABLE cases; --"}}, must_refuse),
        ("phone cleared", {"proposal": with_key(base, "h0"), "corrections": {"phone": None}}, None),
        ("phone 5000 digits", {"proposal": with_key(base, "h"), "corrections": {"phone": "1" * 5000}}, must_refuse),
        ("phone 12 digits", {"proposal": with_key(base, "i"), "corrections": {"phone": "138123456789"}}, must_refuse),
        ("phone 16 digits", {"proposal": with_key(base, "j"), "corrections": {"phone": "1381234567812345"}}, must_refuse),
        ("phone full-width", {"proposal": with_key(base, "k"), "corrections": {"phone": "１３８１２３４５６７８"}}, None),
        ("phone number type", {"proposal": with_key(base, "l"), "corrections": {"phone": 13812345678}}, None),
        ("name script", {"proposal": with_key(base, "m"), "corrections": {"name": "<script>alert(1)</script>"}}, None),
        ("name 5000", {"proposal": with_key(base, "n"), "corrections": {"name": "王" * 5000}}, None),
        ("summary empty", {"proposal": with_key(base, "o"), "corrections": {"summary": ""}}, None),
        ("summary 3000", {"proposal": with_key(base, "p"), "corrections": {"summary": "路灯" * 1500}}, None),
        ("address 3000 (place correction) then confirm", {"proposal": with_key(base, "q"),
                                                          "corrections": {"address": "幸福小区" * 750}}, None),
        ("text huge 1MB", {"proposal": with_key(base, "r"), "corrections": {"text": "停" * 400000}}, None),
        ("text lone surrogate", None, None),
        ("urgency bogus", {"proposal": with_key(base, "s"), "corrections": {"urgency": {"level": "nuclear"}}}, must_refuse),
        ("urgency string", {"proposal": with_key(base, "t"), "corrections": {"urgency": "emergency"}}, None),
        ("emergency without referral", {"proposal": with_key(base, "u"),
                                        "corrections": {"urgency": {"level": "emergency", "hotline": "119"}, "referral": None}}, None),
        ("referral 5000", {"proposal": with_key(base, "v"),
                           "corrections": {"urgency": {"level": "emergency", "hotline": "119"}, "referral": "快" * 5000}}, None),
        ("merge into nonexistent", {"proposal": with_key(base, "w"), "corrections": {"merge_into": "20991231-9999"}}, must_refuse),
        ("merge into 2^64", {"proposal": with_key(base, "x"), "corrections": {"merge_into": 18446744073709551617}}, must_refuse),
        ("merge into SQL", {"proposal": with_key(base, "y"), "corrections": {"merge_into": "' OR 1=1 --"}}, must_refuse),
        ("key 5000 chars", {"proposal": dict(with_key(base, "k1"), key="k" * 5000), "corrections": {}}, None),
        ("key traversal", {"proposal": dict(with_key(base, "k2"), key="../../../etc/passwd"), "corrections": {}}, None),
        ("key null", {"proposal": dict(with_key(base, "k3"), key=None), "corrections": {}}, None),
        ("proposal category bogus", {"proposal": dict(with_key(base, "z"), category={"code": "x.y"}), "corrections": {}},
         must_refuse),
        ("proposal extra fields", {"proposal": dict(with_key(base, "aa"), case_numbers=["20261202-0001"], state="closed",
                                                    channel="telegram", address="123"), "corrections": {}}, None),
        ("same call twice (idempotent)", {"proposal": first, "corrections": {"summary": "另一件事"}},
         lambda r, t: None if r.status_code != 200 or r.json().get("existing") else "same key opened a second case"),
    ]
    for name, body, check in confirms:
        if body is None:
            content = b'{"proposal": ' + sent_base.encode() + b', "corrections": {"text": "\\ud800"}}'
        else:
            content = json.dumps(body, ensure_ascii=False).encode()
        p.http("intake", f"confirm: {name}", c, "POST", "/api/intake/confirm", inp=content, sent=content.decode("utf-8", "replace"),
               content=content, headers=J, check=check)
    for name, body, ctype in [("deep", b'{"proposal":' + b"[" * 10000 + b"]" * 10000 + b"}", "application/json"),
                              ("5000-digit", b'{"proposal":' + b"9" * 5000 + b"}", "application/json"),
                              ("GBK", gbk(json.dumps({"proposal": base}, ensure_ascii=False)), "application/json"),
                              ("binary", os.urandom(4096), "application/json"),
                              ("text/plain", sent_base.encode(), "text/plain")]:
        p.http("intake", f"confirm body: {name}", c, "POST", "/api/intake/confirm", inp=body,
               sent=body.decode("utf-8", "replace") + sent_base, content=body, headers={"content-type": ctype},
               check=must_refuse)

    # methods, auth headers, odd paths
    for method, path, hdr in [("GET", "/api/intake", {}), ("PUT", "/api/intake", {}), ("DELETE", "/api/intake/confirm", {}),
                              ("GET", "/api/intake/confirm", {}), ("GET", "/api/intake/options?x=" + "9" * 5000, {}),
                              ("GET", "/api/intake/options", {"authorization": "Bearer " + "A" * 8000}),
                              ("GET", "/api/intake/options", {"authorization": "Bearer ../../etc/passwd"}),
                              ("GET", "/api/intake/options", {"authorization": "Basic Zm9vOmJhcg=="}),
                              ("GET", "/api/intake/%2e%2e/%2e%2e/etc/passwd", {}),
                              ("GET", "/api/intake/..%2F..%2F.env", {}), ("GET", "/intake/intake.js/../../../bot", {}),
                              ("GET", "/api/intake/options", {"accept": "application/xml"}),
                              ("POST", "/api/intake?format=xlsx", {"content-type": "text/plain"}),
                              ("POST", "/api/intake?dry_run=0&format=../../etc/passwd", {"content-type": "text/plain"})]:
        p.http("intake", f"route {method} {short(path, 40)}", c, method, path, inp=f"{method} {path} {short(str(hdr), 30)}",
               sent=urllib.parse.unquote(path) + json.dumps(hdr), headers=hdr,
               content=("市民：停水了".encode() if method == "POST" else None))
    c.close()


# ---------------------------------------------------------------------------------- CLI door

def cli_door(p: Probe, tmp: Path) -> None:
    db = f"sqlite:///{tmp / 'cli.db'}"
    p.cli("db upgrade (temp db)", ["db", "upgrade"], db=db)

    def refused(code, out, err):
        return "accepted (exit 0)" if code == 0 else None

    def exit_zero(code, out, err):
        return None if code == 0 else f"refused: {short(err.strip(), 100)}"

    # a case to act on
    number = None
    res = p.cli("case open (valid, phone in text)", ["case", "open", "--text", "楼下烧烤店半夜太吵，我电话13700002222",
                                                   "--category", "env.noise", "--contact", "13812345678", "--json"], db=db)
    if res and res[0] == 0:
        try:
            number = json.loads(res[1])["number"]
        except Exception:
            number = None
    number = number or "20261202-0001"

    def count_cases() -> int | None:
        e = dict(os.environ, DATABASE_URL=db)
        try:
            out = subprocess.run([str(BOT), "case", "list", "--json", "--limit", "10000"], capture_output=True,
                                 timeout=TIMEOUT, cwd=ROOT, env=e).stdout
            return len(json.loads(out))
        except Exception:
            return None
    before = count_cases()

    opens = [
        ("open empty text", ["--text", "", "--category", "env.noise"], refused),
        ("open blank text", ["--text", "   \n\t", "--category", "env.noise"], refused),
        ("open 100 KB text", ["--text", "吵" * 33000, "--category", "env.noise"], None),
        ("open control chars", ["--text", "楼下\x1b[31m太吵\x07\x08", "--category", "env.noise", "--type", "投诉"], None),
        ("open emoji", ["--text", "🔥🔥👨‍👩‍👧", "--category", "env.noise"], None),
        ("open markup", ["--text", "<script>alert(1)</script>", "--category", "env.noise", "--type", "投诉", "--name", "<b>王</b>"], None),
        ("open SQL", ["--text", "'; DROP TABLE cases; --", "--category", "env.noise", "--area", "' OR '1'='1"], refused),
        ("open template", ["--text", "{{7*7}} ${7*7} %s%n", "--category", "env.noise", "--type", "投诉"], None),
        ("open category bogus", ["--text", "停水", "--category", "no.such"], refused),
        ("open category traversal", ["--text", "停水", "--category", "../../data/taxonomy"], refused),
        ("open category empty", ["--text", "停水", "--category", ""], refused),
        ("open area bogus", ["--text", "停水", "--category", "urban.water_supply", "--area", "ZZZ999"], refused),
        ("open contact 5000 digits", ["--text", "停水", "--category", "urban.water_supply", "--contact", "1" * 5000], refused),
        ("open contact 12 digits", ["--text", "停水", "--category", "urban.water_supply", "--contact", "138123456789"], refused),
        ("open contact 16 digits", ["--text", "停水", "--category", "urban.water_supply", "--contact", "1381234567812345"], refused),
        ("open contact letters", ["--text", "停水", "--category", "urban.water_supply", "--contact", "abc"], refused),
        ("open contact full-width", ["--text", "停水", "--category", "urban.water_supply", "--contact", "１３８１２３４５６７８",
                                     "--json"],
         lambda code, out, err: None if code == 2 or "138****5678" in out else f"contact stored as {short(out, 60)}"),
        ("open contact id number", ["--text", "停水", "--category", "urban.water_supply", "--contact", "11010119900307123X"], refused),
        ("open name 5000", ["--text", "停水", "--category", "urban.water_supply", "--name", "王" * 5000], None),
        ("open place 3000", ["--text", "停水", "--category", "urban.water_supply", "--place", "幸福小区" * 750], None),
        ("open kind bogus", ["--text", "停水", "--category", "urban.water_supply", "--kind", "nuclear"], refused),
        ("open type bogus", ["--text", "停水", "--category", "urban.water_supply", "--type", "威胁"], refused),
        ("open channel traversal", ["--text", "停水", "--category", "urban.water_supply", "--type", "投诉", "--channel", "../../x",
                                    "--address", "../../etc/passwd"], None),
        ("open idempotency key 100 KB", ["--text", "停水", "--category", "urban.water_supply",
                                         "--idempotency-key", "k" * 100000], None),
        ("open invalid UTF-8 arg", [b"--text", b"\xff\xfe\xed\xa0\x80", b"--category", b"env.noise"], None),
        ("open actor 5000", ["--text", "停水", "--category", "urban.water_supply", "--type", "投诉", "--actor", "x" * 5000], None),
    ]
    for name, args, check in opens:
        p.cli(name, ["case", "open"] + args, db=db, inp=" ".join(short(a, 30) for a in args), check=check)

    # refused commands must leave the database unchanged (counted over the refused block below)
    before_refused = count_cases()
    refused_block = [
        ("show unknown", ["case", "show", "20991231-9999"]),
        ("show empty", ["case", "show", ""]),
        ("show 2^64", ["case", "show", "18446744073709551617"]),
        ("show 5000 digits", ["case", "show", "9" * 5000]),
        ("show traversal", ["case", "show", "../../../etc/passwd"]),
        ("show SQL", ["case", "show", f"{number}' OR '1'='1"]),
        ("show full-width number", ["case", "show", unicodedata.normalize("NFKC", number).translate(
            {ord(ch): ord(ch) + 0xFEE0 for ch in "0123456789"})]),
        ("act unknown action", ["case", "act", number, "explode"]),
        ("act rate before resolve", ["case", "act", number, "rate", "--solved", "--satisfaction", "满意"]),
        ("act close while assigned", ["case", "act", number, "close"]),
        ("act merge into itself", ["case", "act", number, "merge", "--to", number]),
        ("act merge into nonexistent", ["case", "act", number, "merge", "--to", "20991231-9999"]),
        ("act transfer traversal", ["case", "act", number, "transfer", "--to", "../../etc/passwd"]),
        ("act extend past date", ["case", "act", number, "extend", "--to", "1900-01-01", "--text", "x"]),
        ("act extend -5 days", ["case", "act", number, "extend", "--to", "-5", "--text", "x"]),
        ("act extend 2^64 days", ["case", "act", number, "extend", "--to", "18446744073709551617", "--text", "x"]),
        ("act extend bad date", ["case", "act", number, "extend", "--to", "2026-02-30", "--text", "x"]),
        ("act reply empty", ["case", "act", number, "reply", "--text", ""]),
        ("act on unknown case", ["case", "act", "20991231-9999", "accept"]),
        ("act assign bogus", ["case", "act", number, "assign", "--to", "'; DROP TABLE cases; --"]),
        ("act satisfaction bogus", ["case", "act", number, "rate", "--satisfaction", "超满意"]),
        ("act refer no text", ["case", "act", number, "refer"]),
    ]
    for name, args in refused_block:
        p.cli(name, args, db=db, inp=" ".join(short(a, 30) for a in args), check=refused)
    after_refused = count_cases()
    p.add("cli", "refused commands leave the db unchanged (case count)", f"{before_refused} → {after_refused}",
          "ok" if before_refused == after_refused else "wrong",
          "" if before_refused == after_refused else "case count changed during refused commands")

    # valid lifecycle with hostile text, including extremely long extension
    for name, args, check in [
        ("act note markup", ["case", "act", number, "note", "--text", "<script>x</script>{{7*7}}"], exit_zero),
        ("act extend 99999 working days", ["case", "act", number, "extend", "--to", "99999", "--text", "慢慢来"], None),
        ("act reply 100 KB", ["case", "act", number, "reply", "--text", "好" * 33000], None),
        ("act add_info control chars", ["case", "act", number, "add_info", "--text", "\x1b]0;pwned\x07补充"], None),
        ("show --json", ["case", "show", number, "--json"], exit_zero),
    ]:
        p.cli(name, args, db=db, inp=" ".join(short(a, 30) for a in args), check=check)

    # list / stats / categories: the phone inside a case text must be masked in every view
    def no_full_phone(code, out, err):
        return "full phone 13700002222 shown" if "13700002222" in out else None
    for name, args, check in [
        ("list", ["case", "list"], None), ("list --json", ["case", "list", "--json"], None),
        ("list state bogus", ["case", "list", "--state", "'; DROP TABLE cases; --"], None),
        ("list body traversal", ["case", "list", "--body", "../../etc"], None),
        ("list limit 0", ["case", "list", "--limit", "0"], refused),
        ("list limit 2^64", ["case", "list", "--limit", "18446744073709551617"], refused),
        ("list overdue", ["case", "list", "--overdue", "--json"], None),
        ("stats", ["stats", "--json"], None),
        ("stats 2026Q5", ["stats", "--period", "2026Q5"], refused),
        ("stats 2026-13", ["stats", "--period", "2026-13"], refused),
        ("stats 5000 digits", ["stats", "--period", "9" * 5000], refused),
        ("stats SQL", ["stats", "--period", "2026' OR '1'='1"], refused),
        ("stats full-width", ["stats", "--period", "２０２６"], None),
        ("stats year 0", ["stats", "--period", "0000"], refused),
        ("stats empty", ["stats", "--period", ""], None),
        ("categories --json", ["categories", "--json"], exit_zero),
        ("watchdog --once", ["watchdog", "--once", "--json"], exit_zero),
        ("watchdog interval 0", ["watchdog", "--interval", "0"], refused),
        ("outbox --once", ["outbox", "--once"], exit_zero),
        ("outbox --dead", ["outbox", "--dead", "--json"], exit_zero),
        ("outbox interval NaN", ["outbox", "--interval", "nan"], refused),
        ("unknown command", ["explode"], refused),
        ("unknown option", ["case", "list", "--drop-tables"], refused),
    ]:
        if name in ("list", "list --json"):
            check = no_full_phone
        p.cli(name, args, db=db, inp=" ".join(short(a, 30) for a in args), check=check)

    # files for intake / classify / evaluate / train / taxonomy
    f = tmp / "files"
    f.mkdir(exist_ok=True)
    src = "话务员：您好，请讲。\n市民：我们小区从昨天晚上就停水了，在文化路社区，电话13812345678。\n"
    files = {
        "empty.txt": b"",
        "binary.bin": bytes(range(256)) * 64,
        "gbk.txt": gbk(src),
        "sjis.txt": sjis("市民：騒音がうるさい。電話13812345678\n"),
        "utf16.txt": src.encode("utf-16"),
        "utf16le-nobom.txt": src.encode("utf-16-le"),
        "utf8bom.txt": b"\xef\xbb\xbf" + src.encode(),
        "nul.txt": b"\x00" * 50 + src.encode() + b"\x00",
        "cesu.txt": "市民：".encode() + b"\xed\xa0\x80\xed\xb0\x80" + "停水\n".encode(),
        "huge.txt": ("市民：楼下太吵。\n" * 90000).encode()[: 1 << 20],
        "longline.txt": ("市民：" + "吵" * 300000).encode(),
        "deep.json": b"[" * 10000 + b"]" * 10000,
        "deepobj.json": b'{"text":' + b'{"a":' * 10000 + b"1" + b"}" * 10001,
        "bignum.json": b'[{"text":"\xe5\x81\x9c\xe6\xb0\xb4","id":' + b"9" * 5000 + b"}]",
        "wrongtypes.json": json.dumps([{"text": 1}, {"text": ["a"]}, {"text": {"a": 1}}, None, 5, "市民：停电了",
                                       {"text": "市民：停水", "id": 18446744073709551617, "phone": 13812345678}]).encode(),
        "notjson.json": b"{this is not json",
        "bad.jsonl": (json.dumps({"text": "市民：停水了"}, ensure_ascii=False) + "\n{bad\n\n[1,2]\n\"x\"\n").encode(),
        "nul.csv": "内容,电话\n停\x00水,138\n".encode(),
        "hugefield.csv": ("内容,电话\n\"" + "停水" * 200000 + "\",13812345678\n").encode(),
        "unbalanced.csv": b'\xe5\x86\x85\xe5\xae\xb9\n"unterminated,quote\n',
        "gbk.csv": gbk("内容,类别\n小区停水了,urban.water_supply\n楼下太吵,env.noise\n"),
        "fake.xlsx": b"PK\x03\x04" + random.Random(1).randbytes(4000),
        "notzip.xlsx": b"this is not excel",
        "csv-injection.csv": "内容,类别\n=cmd|' /C calc'!A0,env.noise\n@SUM(1+1),env.noise\n".encode(),
        "eval-nolabel.csv": "foo,bar\n1,2\n".encode(),
        "eval-one-row.csv": "text,label\n楼下太吵,env.noise\n".encode(),
        "eval-bad-label.csv": "text,label\n楼下太吵,no.such\n停水,../../etc\n".encode(),
        "emergency.txt": "市民：我家楼下着火了，好大的烟\n".encode(),
    }
    for name, data in files.items():
        (f / name).write_bytes(data)
    # a phone or text echoed from these files was sent by the operator, not leaked
    p.cli_files_text = "\n".join(data.decode(enc, "ignore") for data in files.values()
                                  for enc in ("utf-8", "gbk", "utf-16", "shift_jis"))
    os.symlink(f / "loop", f / "loop") if not (f / "loop").exists() else None
    d = tmp / "dir"
    d.mkdir(exist_ok=True)
    (d / "a.txt").write_bytes(src.encode())
    (d / "b.bin").write_bytes(os.urandom(512))
    if not (d / "loop").exists():
        os.symlink(d, d / "loop")

    # files refused before any transcript is understood: each on its own (quick)
    refused_inputs = ["empty.txt", "binary.bin", "sjis.txt", "utf16le-nobom.txt", "nul.txt", "cesu.txt", "huge.txt",
                      "longline.txt", "deep.json", "deepobj.json", "bignum.json", "wrongtypes.json", "notjson.json",
                      "nul.csv", "hugefield.csv", "fake.xlsx", "notzip.xlsx", "loop"]
    for name in refused_inputs:
        p.cli(f"intake --dry-run {name}", ["intake", str(f / name), "--dry-run", "--json"], db=db, inp=name)
    for fmt in ["json", "csv", "xlsx", "jsonl"]:
        p.cli(f"intake --format {fmt} on gbk.txt", ["intake", str(f / "gbk.txt"), "--format", fmt, "--dry-run"], db=db,
              inp=f"gbk.txt as {fmt}")
    p.cli("intake nonexistent", ["intake", str(tmp / "nope" / "x.txt")], db=db, inp="nope/x.txt", check=refused)
    p.cli("intake /dev/null", ["intake", "/dev/null", "--dry-run"], db=db, inp="/dev/null")
    p.cli("intake stdin binary", ["intake", "-", "--dry-run"], db=db, stdin=os.urandom(2048), inp="- < random bytes")
    p.cli("intake stdin deep JSON", ["intake", "-", "--format", "json", "--dry-run"], db=db,
          stdin=b"[" * 10000 + b"]" * 10000, inp="- < [[[…10000")

    # files that hold readable transcripts: `bot intake` loads the NLU model for them, which takes
    # longer than 20 s on a loaded machine, so they go in one directory run (one model load), with a
    # 120 s hard limit; over 20 s still counts as a hang, and each transcript is judged on its own
    dd = tmp / "readable"
    dd.mkdir(exist_ok=True)
    for name in ["gbk.txt", "utf16.txt", "utf8bom.txt", "bad.jsonl", "unbalanced.csv", "csv-injection.csv",
                 "emergency.txt", "binary.bin"]:
        (dd / name).write_bytes((f / name).read_bytes())
    if not (dd / "loop").exists():
        os.symlink(dd, dd / "loop")
    res = p.cli("intake --dry-run on a directory of readable transcripts (+ symlink loop)",
                ["intake", str(dd), "--dry-run", "--json"], db=db, inp="readable/ (gbk, utf16, bom, jsonl, csv, 着火了, loop)",
                limit=120)
    if res is not None:
        rows = []
        for line in res[1].splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
        def row(name):
            return [r for r in rows if isinstance(r, dict) and name in str(r.get("source", ""))]
        for name, expect in [("gbk.txt", "停水"), ("utf16.txt", "停水"), ("utf8bom.txt", "停水")]:
            got = row(name)
            text = json.dumps(got, ensure_ascii=False)
            p.add("cli", f"intake dir: {name} decoded", name, "ok" if expect in text else "wrong",
                  "" if expect in text else f"no proposal with {expect}: {short(text, 100)}")
        em = json.dumps(row("emergency.txt"), ensure_ascii=False)
        ok = '"emergency"' in em and "119" in em
        p.add("cli", "intake dir: 着火了 transcript → emergency 119", "emergency.txt", "ok" if ok else "wrong",
              "" if ok else f"urgency: {short(em, 120)}")

    # a real import, twice: the second opens nothing
    rd = tmp / "real"
    rd.mkdir(exist_ok=True)
    (rd / "gbk.txt").write_bytes((f / "gbk.txt").read_bytes())
    (rd / "emergency.txt").write_bytes((f / "emergency.txt").read_bytes())
    first = p.cli("intake real import (1)", ["intake", str(rd), "--json"], db=db, inp="real/ gbk + 着火了", limit=120)
    if first is not None:
        def nothing_twice(code, out, err):
            m = re.search(r'"opened":\s*(\d+)', out)
            return f"second import opened {m.group(1)} case(s) again" if m and int(m.group(1)) > 0 else None
        p.cli("intake real import (2): nothing opened twice", ["intake", str(rd), "--json"], db=db, inp="real/ again",
              limit=120, check=nothing_twice)

    # classify
    p.cli("classify empty", ["classify", ""], db=db, inp="''")
    p.cli("classify 🔥", ["classify", "🔥", "--json"], db=db, inp="🔥")
    p.cli("classify --file binary", ["classify", "--file", str(f / "binary.bin"), "--json"], db=db, inp="binary.bin")
    p.cli("classify --file directory", ["classify", "--file", str(d)], db=db, inp="dir/", check=refused)
    p.cli("classify --model nonexistent", ["classify", "停水", "--model", str(tmp / "nope.tar.gz")], db=db,
          inp="--model nope", check=refused)
    p.cli("classify --model garbage", ["classify", "停水", "--model", str(f / "binary.bin")], db=db,
          inp="--model binary.bin", check=refused)

    # evaluate / train --dry-run / taxonomy import
    for name in ["empty.txt", "binary.bin", "eval-nolabel.csv", "eval-bad-label.csv", "fake.xlsx", "nul.csv"]:
        p.cli(f"evaluate {name}", ["evaluate", "--data", str(f / name), "--json"], db=db, inp=name)
    p.cli("evaluate text-col bogus", ["evaluate", "--data", str(f / "gbk.csv"), "--text-col", "'; DROP"], db=db,
          inp="--text-col '; DROP", check=refused)
    for name in ["binary.bin", "fake.xlsx", "eval-bad-label.csv", "hugefield.csv"]:
        p.cli(f"train --dry-run {name}", ["train", "--history", str(f / name), "--dry-run", "--json",
                                          "--out", str(tmp / "model.tar.gz")], db=db, inp=name)
    p.cli("train cross-validate -1", ["train", "--history", str(f / "gbk.csv"), "--cross-validate", "-1", "--dry-run"],
          db=db, inp="--cross-validate -1", check=refused)
    p.cli("taxonomy import garbage", ["taxonomy", "import", "--history", str(f / "binary.bin"), "--level-cols",
                                      "一级,二级", "--out", str(tmp / "tax")], db=db, inp="binary.bin", check=refused)
    p.cli("taxonomy import bad cols", ["taxonomy", "import", "--history", str(f / "gbk.csv"), "--level-cols",
                                       "../../x", "--out", str(tmp / "tax")], db=db, inp="--level-cols ../../x", check=refused)
    p.cli("trackers purge negative", ["trackers", "purge", "--older-than", "-1", "--url",
                                      f"sqlite:///{tmp / 'tracker.db'}"], db=db, inp="--older-than -1", check=refused)
    p.cli("trackers purge garbage db", ["trackers", "purge", "--older-than", "1", "--dry-run", "--url",
                                        f"sqlite:///{f / 'binary.bin'}"], db=db, inp="--url binary.bin")

    # database faults
    faults = [
        ("db dir missing", f"sqlite:///{tmp / 'no' / 'such' / 'x.db'}", ["case", "list"]),
        ("db garbage file", f"sqlite:///{f / 'binary.bin'}", ["case", "list"]),
        ("db url garbage", "not a url at all", ["case", "list"]),
        ("db url unknown driver", "mysql+nosuch://u@127.0.0.1/x", ["case", "list"]),
        ("db postgres port 1", "postgresql+psycopg://postgres@127.0.0.1:1/x", ["case", "list"]),
        ("db empty file, no schema", f"sqlite:///{f / 'empty.txt'}", ["case", "open", "--text", "停水", "--category",
                                                                      "urban.water_supply"]),
        ("db upgrade on garbage", f"sqlite:///{f / 'binary.bin'}", ["db", "upgrade"]),
    ]
    for name, url, args in faults:
        p.cli(f"fault: {name}", args, db=url, inp=url, check=lambda c, o, e: "exit 0 on a broken database" if c == 0 else None)


def fault_door(p: Probe, tmp: Path) -> None:
    """Cheap process faults: aborted clients, broken HTTP, a locked database, SIGINT, broken pipes."""
    host, port = urllib.parse.urlsplit(p.base).hostname, urllib.parse.urlsplit(p.base).port or 80

    def healthy(name: str, inp: str) -> None:
        c = httpx.Client(base_url=p.base, timeout=TIMEOUT, trust_env=False)
        p.http("fault", name, c, "GET", "/healthz", inp=inp,
               check=lambda r, t: None if r.status_code == 200 else f"not healthy after the fault: {short(t, 80)}")
        c.close()

    # client gives up in the middle of a chat message, then the same session goes on
    s = Session(p, "abort")
    try:
        s.c.post("/api/chat/message", json={"text": "小区停水了"}, timeout=0.05)
    except httpx.HTTPError:
        pass
    time.sleep(1.0)
    s.say("session goes on after an aborted request", "在文化路社区", polite)
    s.close()
    healthy("healthz after aborted client", "abort after 50 ms")

    def raw(name: str, data: bytes, wait: float = 2.0) -> None:
        if p.over():
            p.skipped += 1
            return
        t0 = time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=5) as sk:
                sk.sendall(data)
                sk.settimeout(wait)
                try:
                    got = sk.recv(4096)
                except socket.timeout:
                    got = b""
            text = got.decode("utf-8", "replace")
            status = text.split(" ", 2)[1] if text.startswith("HTTP/") else ""
            if status.startswith("5") or STACK_RE.search(text):
                p.add("fault", name, data, "crash", short(text, 120), time.monotonic() - t0)
            elif (why := leak_scan(text, data.decode("utf-8", "replace"))):
                p.add("fault", name, data, "leak", why, time.monotonic() - t0)
            else:
                p.add("fault", name, data, "ok", f"answer {short(text.splitlines()[0] if text else '(closed)', 40)}",
                      time.monotonic() - t0)
        except OSError as exc:
            p.add("fault", name, data, "ok", f"socket {type(exc).__name__}", time.monotonic() - t0)
        healthy(f"healthz after {name}", name)

    raw("half request then close", b"POST /api/chat/message HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{\"text\":", wait=1.0)
    raw("garbage request line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03GARBAGE\r\n\r\n")
    raw("content-length lies (short)", b"POST /api/intake HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 5\r\n\r\n" + "市民：停水了，楼下太吵".encode())
    raw("negative content-length", b"POST /api/intake HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
    raw("chunked garbage", b"POST /api/intake HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: text/plain\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n")
    raw("header 64 KB", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
    raw("non-UTF-8 path", b"GET /api/chat/cases/\xff\xfe\xed\xa0\x80 HTTP/1.1\r\nHost: x\r\n\r\n")

    # CLI under a locked database: must end (success or exit 3) within 20 s, without a traceback
    dbfile = tmp / "locked.db"
    db = f"sqlite:///{dbfile}"
    subprocess.run([str(BOT), "db", "upgrade"], capture_output=True, timeout=60, cwd=ROOT,
                   env=dict(os.environ, DATABASE_URL=db))
    con = sqlite3.connect(dbfile, timeout=1, isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
        p.cli("fault: case open on an exclusively locked db", ["case", "open", "--text", "停水", "--category",
                                                                "urban.water_supply"], db=db, inp="BEGIN EXCLUSIVE held",
              door="fault")
        p.cli("fault: case list on an exclusively locked db", ["case", "list"], db=db, inp="BEGIN EXCLUSIVE held",
              door="fault")
    finally:
        try:
            con.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        con.close()
    # read-only database file
    ro = tmp / "ro.db"
    ro.write_bytes(dbfile.read_bytes())
    ro.chmod(0o444)
    if os.geteuid() != 0:   # root ignores file modes; the test would mean nothing
        p.cli("fault: case open on a read-only db", ["case", "open", "--text", "停水", "--category", "urban.water_supply"],
              db=f"sqlite:///{ro}", inp="chmod 444")

    # SIGINT to a long-running command (as Ctrl-C): clean end, no traceback
    for name, args in [("watchdog", ["watchdog", "--interval", "1"]), ("outbox", ["outbox", "--interval", "0.5"])]:
        if p.over():
            p.skipped += 1
            continue
        t0 = time.monotonic()
        proc = subprocess.Popen([str(BOT)] + args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=dict(os.environ, DATABASE_URL=db))
        time.sleep(5.0)   # past start-up: the loop is running
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            p.add("fault", f"SIGINT to bot {name}", "Ctrl-C after 5 s", "hang", "did not stop within 20 s of SIGINT")
            continue
        e = err.decode("utf-8", "replace")
        dt = time.monotonic() - t0
        if STACK_RE.search(e):
            p.add("fault", f"SIGINT to bot {name}", "Ctrl-C after 5 s", "crash", f"traceback on stderr (exit {proc.returncode})", dt)
        elif proc.returncode not in (0, 2, 3, 130, -2):
            p.add("fault", f"SIGINT to bot {name}", "Ctrl-C after 5 s", "crash",
                  f"exit {proc.returncode}, stderr {short(e.strip()[-120:], 120)}", dt)
        else:
            p.add("fault", f"SIGINT to bot {name}", "Ctrl-C after 5 s", "ok", f"exit {proc.returncode}", dt)

    # stdout closed early (| head -c 10) and stdout on a full disk
    for name, args in [("broken pipe: categories --json | head -c 10", ["categories", "--json"]),
                       ("broken pipe: case list --json | head -c 10", ["case", "list", "--json"])]:
        if p.over():
            p.skipped += 1
            continue
        t0 = time.monotonic()
        proc = subprocess.Popen([str(BOT)] + args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=dict(os.environ, DATABASE_URL=db))
        proc.stdout.read(10)
        proc.stdout.close()
        try:
            err = proc.stderr.read()
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            p.add("fault", name, "stdout closed", "hang", "still running")
            continue
        e = err.decode("utf-8", "replace")
        dt = time.monotonic() - t0
        if STACK_RE.search(e):
            p.add("fault", name, "stdout closed", "crash", f"traceback on stderr (exit {proc.returncode})", dt)
        elif proc.returncode not in (0, 2, 3, 1, -13, 120, 141):
            p.add("fault", name, "stdout closed", "crash", f"exit {proc.returncode}", dt)
        else:
            p.add("fault", name, "stdout closed", "ok", f"exit {proc.returncode}", dt)
    if Path("/dev/full").exists() and not p.over():
        t0 = time.monotonic()
        with open("/dev/full", "wb") as full:
            proc = subprocess.run([str(BOT), "categories", "--json"], cwd=ROOT, stdout=full, stderr=subprocess.PIPE,
                                  env=dict(os.environ, DATABASE_URL=db), timeout=TIMEOUT)
        e = proc.stderr.decode("utf-8", "replace")
        dt = time.monotonic() - t0
        if STACK_RE.search(e):
            p.add("fault", "stdout on /dev/full", "categories --json > /dev/full", "crash",
                  f"traceback on stderr (exit {proc.returncode})", dt)
        elif proc.returncode == 0:
            p.add("fault", "stdout on /dev/full", "categories --json > /dev/full", "wrong", "exit 0 although nothing could be written", dt)
        else:
            p.add("fault", "stdout on /dev/full", "categories --json > /dev/full", "ok", f"exit {proc.returncode}", dt)


# ---------------------------------------------------------------------------------- report

def report(p: Probe, as_json: bool, json_out: str | None = None) -> None:
    doors = ["chat", "intake", "cli", "fault"]
    table = {d: {k: 0 for k in ("tried",) + OUTCOMES} for d in doors}
    for it in p.items:
        row = table.setdefault(it.door, {k: 0 for k in ("tried",) + OUTCOMES})
        row["tried"] += 1
        row[it.outcome] += 1
    total = {k: sum(r[k] for r in table.values()) for k in ("tried",) + OUTCOMES}
    bad = [it for it in p.items if it.outcome != "ok"]
    doc = {"base": p.base, "table": table, "total": total, "skipped": p.skipped,
           "seconds": round(time.monotonic() - p.started, 1), "items": [it.__dict__ for it in p.items]}
    if json_out:
        Path(json_out).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    if as_json:
        print(json.dumps(doc, ensure_ascii=False, indent=1))
        return
    head = f"{'door':<8}" + "".join(f"{k:>7}" for k in ("tried",) + OUTCOMES)
    print(head)
    print("-" * len(head))
    for d, r in list(table.items()) + [("total", total)]:
        print(f"{d:<8}" + "".join(f"{r[k]:>7}" for k in ("tried",) + OUTCOMES))
    print(f"\n{len(p.items)} inputs in {time.monotonic() - p.started:.0f} s; skipped over budget: {p.skipped}")
    if bad:
        print("\nnot ok:")
        for it in bad:
            print(f"  [{it.outcome}] {it.door} · {it.name} · input {it.input} · {it.detail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="http://127.0.0.1:8000", help="the running web app")
    ap.add_argument("--json", action="store_true", help="one JSON document with every item")
    ap.add_argument("--app-database-url", default=os.environ.get("PROBE_APP_DATABASE_URL"),
                    help="the product's DATABASE_URL, to make it push to a chat session (optional)")
    ap.add_argument("--rasa-url", default=os.environ.get("RASA_URL"),
                    help="RASA_URL given to `bot classify` (default: the environment's)")
    ap.add_argument("--budget", type=float, default=560.0, help="seconds; later inputs are skipped")
    ap.add_argument("--doors", default="chat,intake,cli,fault", help="comma-separated subset")
    ap.add_argument("--json-out", help="also write the JSON document to this file")
    ap.add_argument("--operator-token", default=os.environ.get("PROBE_OPERATOR_TOKEN"),
                    help="an operator's API token for the intake door (bot staff token create)")
    args = ap.parse_args(argv)

    try:
        h = httpx.get(args.base + "/healthz", timeout=10, trust_env=False)
        if h.status_code != 200:
            print(f"warning: /healthz answered {h.status_code}: {h.text[:200]}", file=sys.stderr)
    except httpx.HTTPError as exc:
        print(f"the product does not answer at {args.base} ({exc}); start it first (see --help)", file=sys.stderr)
        return 1

    p = Probe(args.base, args.budget, args.app_database_url, args.rasa_url)
    doors = set(args.doors.split(","))
    marker: dict = {}
    with tempfile.TemporaryDirectory(prefix="probe-") as tmpd:
        tmp = Path(tmpd)
        if "chat" in doors:
            chat_door(p, marker)
        if "intake" in doors and args.operator_token:
            intake_door(p, args.operator_token)
        elif "intake" in doors:
            print("intake door skipped: no --operator-token (see --help)", file=sys.stderr)
        if "cli" in doors:
            cli_door(p, tmp)
        if "fault" in doors:
            fault_door(p, tmp)
    report(p, args.json, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
