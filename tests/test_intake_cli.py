"""`bot intake`: files, directories and stdin; dry runs; JSON lines; failures reported."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.conftest import make_container

NOISE = "话务员：您好。\n市民：我是文化路社区的，楼下烧烤店天天吵到凌晨两点。姓王，电话13812345678。"


@pytest.fixture
def env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    make_container(url, tmp_path).engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path / "var"))
    return tmp_path


def run(*args, input=None):
    return CliRunner().invoke(main, ["intake", *args], input=input)


def test_dry_run_then_open_then_again(env):
    path = env / "call.txt"
    path.write_text(NOISE, encoding="utf-8")
    r = run(str(path), "--dry-run", "--json")
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout.splitlines()[0])
    assert row["case"] is None and row["error"] is None and row["phone"] == "13812345678"
    r = run(str(path), "--json")
    opened = json.loads(r.stdout.splitlines()[0])["case"]
    assert opened["number"] and opened["existing"] is False
    r = run(str(path), "--json")
    again = json.loads(r.stdout.splitlines()[0])["case"]
    assert again["number"] == opened["number"] and again["existing"] is True


def test_a_new_database_gets_the_schema_and_every_call_is_proposed(tmp_path, monkeypatch):
    """The first command on a new machine (a DATABASE_URL nobody has upgraded): every call
    was one failed item ("no such table"); now the store is created as `bot run` creates it."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new' / 'cases.db'}")
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path / "var"))
    folder = tmp_path / "calls"
    folder.mkdir()
    for n in range(3):
        (folder / f"{n}.txt").write_text(NOISE.replace("13812345678", f"1381234567{n}"), encoding="utf-8")
    r = run(str(folder), "--dry-run", "--json")
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 3 and all(row["error"] is None and row["summary"] for row in rows), rows
    again = run(str(folder), "--dry-run", "--json")                # the schema stays as it is
    assert again.exit_code == 0 and len(again.stdout.splitlines()) == 3


def test_a_store_without_its_tables_is_a_clear_reason_per_item_not_sql(env):
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{env / 'cases.db'}")
    with engine.begin() as conn:
        conn.execute(text("drop table case_attachments"))
        conn.execute(text("drop table cases"))
    engine.dispose()
    path = env / "call.txt"
    path.write_text(NOISE, encoding="utf-8")
    r = run(str(path), "--dry-run", "--json")
    assert r.exit_code == 2
    error = json.loads(r.stdout.splitlines()[0])["error"]
    assert "bot db upgrade" in error["zh"] and "SELECT" not in error["zh"] + error["en"], error


def test_stdin_and_format(env):
    r = run("-", "--format", "text", input=NOISE)
    assert r.exit_code == 0 and "✔" in r.stdout and "噪声扰民" in r.stdout


def test_batch_with_failures_exits_2_and_keeps_going(env):
    folder = env / "batch"
    folder.mkdir()
    (folder / "a.txt").write_text(NOISE, encoding="gb18030")
    (folder / "b.txt").write_bytes(b"")
    (folder / "c.jsonl").write_text('{"id": "c1", "text": "市民：幸福里停水了，电话13900001111"}\n{oops\n',
                                    encoding="utf-8")
    r = run(str(folder), "--json")
    assert r.exit_code == 2
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 4
    assert [bool(x["case"]) for x in rows] == [True, False, True, False]
    assert rows[1]["error"]["zh"] == "内容为空" and rows[3]["error"]["en"]
    assert "失败 2" in r.stderr


def test_one_hostile_file_does_not_stop_a_directory(env):
    """Deep JSON, a 720 KB CSV cell, a Shift-JIS file and a fake .xlsx are failed items with
    their reasons; the good files in the same directory are imported and everything counted."""
    folder = env / "mixed"
    folder.mkdir()
    (folder / "a_deep.json").write_text("[" * 10_000 + "]" * 10_000, encoding="utf-8")
    (folder / "b_good.txt").write_text(NOISE, encoding="utf-8")
    (folder / "c_big.csv").write_text(
        "id,text\nbig," + "吵" * 240_000 + "\nsmall,市民：幸福里停水了，电话13900001111\n", encoding="utf-8")
    (folder / "d_sjis.txt").write_bytes("もしもし、家の前の道路が壊れています。至急お願いします。".encode("shift_jis"))
    (folder / "e_fake.xlsx").write_text("这不是表格", encoding="utf-8")
    r = run(str(folder), "--json")
    assert r.exit_code == 2 and "Traceback" not in r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    by_id = {row["id"]: row for row in rows}
    assert len(rows) == 6
    assert "嵌套" in by_id["a_deep"]["error"]["zh"]
    assert by_id["b_good"]["case"]["number"] and by_id["small"]["case"]["number"]
    assert "过长" in by_id["big"]["error"]["zh"]
    assert "编码" in by_id["d_sjis"]["error"]["zh"]
    assert "XLSX" in by_id["e_fake"]["error"]["zh"]
    summary = json.loads(next(line for line in r.stderr.splitlines() if line.startswith("{")))
    assert summary == {"summary": {"total": 6, "opened": 2, "already": 0, "proposed": 0, "failed": 4}}
    assert "失败 4" in r.stderr and "failed 4" in r.stderr
