"""The shipped model on the held-out split tests/data/nlu_test/ (never trained on), and the
`bot classify` / `bot evaluate` commands on it, with no server running."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.catalog import Catalog
from bot.nlu.heldout import heldout_files, read_examples, score
from bot.nlu.rasa import SubprocessParser
from bot.settings import ROOT
from tests.rasa_model import rasa_model  # noqa: F401

pytestmark = [pytest.mark.rasa, pytest.mark.slow]
BOT = str(Path(sys.executable).with_name("bot"))

# Floors the shipped model must keep (docs/nlu.md has the measured figures and the targets).
LEVEL1_MACRO_F1 = 0.90
INTENT_MACRO_F1 = 0.90
PARSE_P95_MS = 30.0
LOAD_SECONDS = 20.0


@pytest.fixture(scope="module")
def figures(rasa_model):
    examples = read_examples(heldout_files(ROOT))
    parser = SubprocessParser(rasa_model)
    try:
        parses = parser.parse([e.text for e in examples])
    finally:
        parser.close()
    result = score(examples, parses, Catalog.load(ROOT / "data"))
    result["load_seconds"] = parser.load_seconds
    return result


def test_heldout_figures(figures):
    assert figures["level1"]["macro_f1"] >= LEVEL1_MACRO_F1
    assert figures["intent"]["macro_f1"] >= INTENT_MACRO_F1
    assert figures["category_top3_accuracy"] >= 0.95
    assert figures["latency_ms"]["p95"] <= PARSE_P95_MS
    assert figures["load_seconds"] <= LOAD_SECONDS


def test_nothing_to_go_on_is_not_understood(rasa_model):
    parser = SubprocessParser(rasa_model)
    try:
        results = parser.parse(["😀😀😀", "？？？", "楼下烧烤店半夜很吵", "字" * 20000])
    finally:
        parser.close()
    assert [r["intent"]["name"] for r in results[:3]] == ["nlu_fallback", "nlu_fallback", "report"]
    assert results[2]["entities"] == [{"entity": "time", "value": "半夜", "start": 5, "end": 7}]
    assert results[3]["intent"]["name"]          # 20,000 characters: cut, parsed, no crash


def run_bot(*args, env_extra=None):
    env = {"PATH": "/usr/bin:/bin", "RASA_URL": "http://127.0.0.1:9", **(env_extra or {})}
    return subprocess.run([BOT, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=env)


def test_a_short_first_report_is_a_report_and_a_rating_stays_a_rating(rasa_model):
    """Written after data/nlu/report_short.yml, not trained on: a thing and its fault is a
    report ("路灯坏了" was rate_solved and got "没有找到等待您评价的诉求")."""
    reports = ["水管坏了", "小区停电了", "厕所堵了", "门口井盖没了", "垃圾好几天没拉", "自来水有味道",
               "红灯坏了", "公交车不来", "工资没发", "快递丢件", "网络断了", "暖气漏水"]
    ratings = {"解决了": "rate_solved", "修好了": "rate_solved", "还没修": "rate_unsolved",
               "满意": "rate_satisfied", "不满意": "rate_unsatisfied"}
    parser = SubprocessParser(rasa_model)
    try:
        got = [r["intent"]["name"] for r in parser.parse(reports + list(ratings))]
    finally:
        parser.close()
    missed = [t for t, intent in zip(reports, got) if intent != "report"]
    assert len(missed) <= 2, missed          # 2026-12-02: 网络断了 (rate_solved), 暖气漏水 (a near tie)
    assert got[len(reports):] == list(ratings.values())


def test_traditional_script_is_read_as_the_simplified_it_says(rasa_model):
    """社區門口的路燈壞了 was 劳动和社会保障/社保缴纳: the features read it as simplified now."""
    import zhconv

    simplified = ["社区门口的路灯坏了一个礼拜了", "楼下烧烤店天天半夜吵得睡不着", "老板拖欠工资三个月了",
                  "我家停水两天了", "孩子上学报名要什么材料"]
    parser = SubprocessParser(rasa_model)
    try:
        plain = parser.parse(simplified)
        written = parser.parse([zhconv.convert(t, "zh-tw") for t in simplified])
    finally:
        parser.close()
    for a, b in zip(plain, written):
        assert b["text"] != a["text"]                      # the words stay as written
        assert b["intent"]["name"] == a["intent"]["name"]
        assert b["report_ranking"][0]["code"] == a["report_ranking"][0]["code"], (a["text"], b)


def test_bot_classify_text_and_file(rasa_model, tmp_path):
    proc = run_bot("classify", "楼下烧烤店每天半夜还很吵", "--json")
    assert proc.returncode == 0, proc.stderr
    item = json.loads(proc.stdout)
    assert (item["code"], item["level1"], item["level2"]) == ("env.noise", "环境保护", "噪声扰民")
    assert len(item["alternatives"]) == 3 and item["body"]["name"] == "县生态环境分局"
    texts = tmp_path / "texts.txt"
    texts.write_text("自来水发黄有异味\n\n工地老板欠我们三个月工钱\n😀😀\n", encoding="utf-8")
    proc = run_bot("classify", "--file", str(texts), "--json")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["code"] for line in lines[:2]] == ["urban.water_supply", "labor.wage_arrears"]
    assert len(lines) == 3
    human = run_bot("classify", "路口红绿灯坏了")
    assert human.returncode == 0 and "交通运输/交通设施" in human.stdout


def test_bot_evaluate_json_and_predictions(rasa_model, tmp_path):
    data = tmp_path / "eval.csv"
    with data.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["内容", "分类"])
        writer.writerows([["楼下烧烤店每天半夜还很吵", "环境保护"], ["自来水发黄有异味", "urban.water_supply"],
                          ["工地老板欠我们三个月工钱", "拖欠工资"], ["莫名其妙", "没有这个分类"]])
    out = tmp_path / "pred.csv"
    proc = run_bot("evaluate", "--data", str(data), "--json", "--predictions", str(out))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["n"] == 3 and result["skipped"] == 1
    assert set(result["level1"]) >= {"accuracy", "macro_f1", "per_class", "confusion"}
    assert result["level2"]["n"] == 2
    assert len(out.read_text(encoding="utf-8-sig").splitlines()) == 4


def test_bot_classify_without_a_model(tmp_path):
    proc = run_bot("classify", "楼下很吵", "--model", str(tmp_path / "none.tar.gz"))
    assert proc.returncode == 3 and "模型不可用" in proc.stderr


def test_bot_train_with_history_and_cross_validation(rasa_model, tmp_path):
    """`bot train --history` with a small agency file: K-fold figures, then a model that loads."""
    history = tmp_path / "history.csv"
    rows = [("小区北门的烧烤摊每晚吵到两点", "噪声扰民"), ("楼下KTV半夜还在唱歌", "env.noise"),
            ("广场舞音响声音太大", "环境保护/噪声扰民"), ("家里自来水浑浊发黄", "供水"),
            ("这两天一直停水没人通知", "urban.water_supply"), ("水压太低洗不了澡", "供水"),
            ("老板拖了我们半年工资", "拖欠工资"), ("包工头跑了工钱没结", "labor.wage_arrears"),
            ("只写了一级分类的一行", "城乡建设"), ("", "供水")]
    with history.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["工单内容", "诉求分类"])
        writer.writerows(rows)
    out = tmp_path / "model.tar.gz"
    proc = run_bot("train", "--history", str(history), "--cross-validate", "2", "--out", str(out),
                   "--json", env_extra={"BOT_VAR_DIR": str(tmp_path / "var")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    used = report["history"]
    assert (used["used"], used["skipped"]) == (9, 1)      # the first-level-only row trains 一级
    assert used["used_by_depth"] == {"level1_only": 1, "level2": 8}
    cv = report["cross_validation"]
    assert cv["k"] == 2 and cv["n"] == 9 and 0.0 <= cv["model"]["level1"]["accuracy"] <= 1.0
    assert cv["baseline"]["level1"] is not None           # the baseline on the same folds
    assert set(cv["by_depth"]) == {"level1_only", "level2"}
    assert out.is_file() and report["train_seconds"] > 0
    parser = SubprocessParser(out)
    try:
        assert parser.parse(["楼下KTV半夜还在唱歌"])[0]["report_ranking"][0]["code"] == "env.noise"
    finally:
        parser.close()
