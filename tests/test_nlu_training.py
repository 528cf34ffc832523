"""`bot train --history` on any label scheme, and `bot taxonomy import` (no Rasa needed here;
the real training is in test_nlu_training_rasa.py)."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml

from bot.catalog import Catalog
from bot.nlu import make_classification
from bot.nlu import training
from bot.nlu.labels import Label, LabelMap, LabelMapError, LabelResolver, normalize
from bot.nlu.tabular import TableError, read_table
from bot.nlu.taxonomy_import import TaxonomyImportError, import_taxonomy, stable_code
from bot.settings import ROOT

NOISE = Label("环境保护", "env.noise")
VENDING = Label("城乡建设", "urban.street_vending")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(ROOT / "data")


@pytest.fixture(scope="module")
def resolver(catalog) -> LabelResolver:
    return LabelResolver(catalog)


def small_data_dir(tmp_path: Path, categories: list[dict]) -> Path:
    """A data directory with our county and a taxonomy of the given categories."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "county", data / "county")
    limits = yaml.safe_load((ROOT / "data" / "taxonomy.yml").read_text(encoding="utf-8"))["time_limits"]
    (data / "taxonomy.yml").write_text(yaml.safe_dump(
        {"time_limits": limits, "categories": categories}, allow_unicode=True), encoding="utf-8")
    return data


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


# ---------------------------------------------------------------------- labels
@pytest.mark.parametrize("raw, expected", [
    ("env.noise", NOISE),
    ("噪声扰民", NOISE),
    ("环境保护", Label("环境保护", None)),
    ("环境保护/噪声扰民", NOISE),
    (" 环境保护 ／ 噪声扰民 ", NOISE),
    ("环境保护>噪声扰民", NOISE),
    ("城管问题/市容环境/占道经营", VENDING),       # the deepest name we know wins
    ("城管问题>占道经营", VENDING),
    ("12345热线|城乡建设|不认识的三级", Label("城乡建设", None)),
    ("城乡建设/env.noise", NOISE),
    ("城管问题/市容环境", None),
    ("", None),
])
def test_labels_resolve_at_every_depth(resolver, raw, expected):
    assert resolver.resolve(raw) == expected


def test_a_first_level_in_the_path_picks_among_shared_second_level_names(tmp_path):
    data = small_data_dir(tmp_path, [
        {"code": "a.other", "level1": "甲类", "level2": "其他", "kind": "demand", "limits": "general",
         "body": "housing"},
        {"code": "b.other", "level1": "乙类", "level2": "其他", "kind": "demand", "limits": "general",
         "body": "ecology"},
    ])
    resolver = LabelResolver(Catalog.load(data))
    assert resolver.resolve("乙类/其他") == Label("乙类", "b.other")
    assert resolver.resolve("甲类>其他") == Label("甲类", "a.other")
    assert resolver.resolve("其他") == Label("甲类", "a.other")      # no first level: the first one
    assert Label("甲类", None).depth == 1 and Label("甲类", "a.other").depth == 2


def test_label_map_yaml_any_depth(tmp_path, resolver):
    path = tmp_path / "map.yml"
    path.write_text("labels:\n  城管问题/市容环境/占道经营: urban.street_vending\n"
                    "  城管问题: 城乡建设\n  噪音: 环境保护/噪声扰民\n  生态环境类: 环境保护\n",
                    encoding="utf-8")
    label_map = LabelMap.load(path, resolver)
    assert label_map.lookup("城管问题>市容环境>占道经营") == VENDING
    assert label_map.lookup("城管问题/渣土车") == Label("城乡建设", None)    # mapped beginning
    assert label_map.lookup("生态环境类/噪音") == Label("环境保护", None)      # longest beginning
    assert label_map.lookup("某某类/噪音") == NOISE                          # the last level alone
    assert label_map.lookup("交通类/拥堵") is None


def test_label_map_csv_and_bad_targets(tmp_path, resolver):
    path = write_csv(tmp_path / "map.csv", [["原标签", "分类"], ["市容/摆摊", "占道经营"],
                                            ["扰民", "env.noise"]], encoding="gb18030")
    label_map = LabelMap.load(path, resolver)
    assert label_map.lookup("市容/摆摊") == VENDING and label_map.lookup("扰民") == NOISE
    bad = tmp_path / "bad.yml"
    bad.write_text("城管问题: 没有这个分类\n扰民: env.noise\n", encoding="utf-8")
    with pytest.raises(LabelMapError, match="没有这个分类"):
        LabelMap.load(bad, resolver)
    (tmp_path / "list.yml").write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(LabelMapError):
        LabelMap.load(tmp_path / "list.yml", resolver)
    with pytest.raises(LabelMapError):
        LabelMap.load(tmp_path / "missing.yml", resolver)


# ---------------------------------------------------------------------- reading histories
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16",
                                      "utf-16-le", "utf-16-be"])
def test_history_files_in_every_encoding(tmp_path, encoding):
    delimiter = "\t" if encoding.startswith("utf-16") else ","    # Excel's "Unicode text"
    path = write_csv(tmp_path / "h.csv", [["工单内容", "分类"], ["楼下烧烤店半夜很吵，\n还有油烟", "环境保护"],
                                          ["路口有人摆摊", "占道经营"]], encoding, delimiter)
    table = read_table(path)
    assert table.rows == [{"工单内容": "楼下烧烤店半夜很吵，\n还有油烟", "分类": "环境保护"},
                          {"工单内容": "路口有人摆摊", "分类": "占道经营"}]
    assert table.encoding == {"gbk": "gb18030"}.get(encoding, encoding)


def test_undecodable_and_empty_files_are_refused(tmp_path):
    (tmp_path / "bad.csv").write_bytes(b"text,label\n\xff\xfe\xfa\x80\x81\n" * 3)
    with pytest.raises(TableError, match="编码"):
        read_table(tmp_path / "bad.csv")
    (tmp_path / "empty.csv").write_bytes(b"\n\n")
    with pytest.raises(TableError, match="空"):
        read_table(tmp_path / "empty.csv")


def test_history_report_mixed_depths_unknown_empty_and_duplicates(tmp_path, catalog):
    path = write_csv(tmp_path / "h.csv", [
        ["内容", "分类"],
        ["楼下烧烤店半夜很吵", "环境保护"],                   # 一级 only
        ["路口有人摆摊卖水果", "城管问题/市容环境/占道经营"],   # agency path, deepest name known
        ["小区物业不管事", "urban.property"],                 # code
        ["小区物业不管事", "城乡建设"],                       # same text, agreeing (deeper kept)
        ["马路上有坑", "道路类"],                             # unknown
        ["人行道被占", "道路类"],                             # unknown
        ["有人在河里电鱼", "渔政"],                           # unknown
        ["", "环境保护"],                                     # empty text
        ["没有分类的一行", ""],                               # empty label
        ["噪音还是很大", "环境保护"],
        ["噪音还是很大", "城乡建设"],                          # conflicting, no majority
        ["停电了", "城乡建设/供电"], ["停电了", "城乡建设/供电"], ["停电了", "民政"],   # majority
    ])
    history = training.load_history([path], catalog)
    examples = dict(history.examples)
    assert examples["楼下烧烤店半夜很吵"] == Label("环境保护", None)
    assert examples["路口有人摆摊卖水果"] == VENDING
    assert examples["小区物业不管事"] == Label("城乡建设", "urban.property")
    assert examples["停电了"] == Label("城乡建设", "urban.power_supply")
    assert "噪音还是很大" not in examples
    report = history.report()
    assert report["rows"] == 14 and report["used"] == 4
    assert report["used_by_depth"] == {"level1_only": 1, "level2": 3}
    assert report["unknown_labels"] == {"道路类": 2, "渔政": 1}
    assert report["skipped_by_reason"] == {"unknown_label": 3, "empty_text": 1, "empty_label": 1,
                                           "conflicting_labels": 2, "duplicate": 3}
    assert report["conflicts"] == [{"text": "噪音还是很大", "labels": ["城乡建设", "环境保护"]}]
    assert report["used"] + report["skipped"] == report["rows"]


def test_history_with_a_label_map_and_two_label_columns(tmp_path, catalog, resolver):
    path = write_csv(tmp_path / "h.csv", [
        ["诉求内容", "大类", "小类"],
        ["渣土车把路面弄得全是泥", "城管问题", "渣土运输"],
        ["路边摊占了盲道", "城管问题", "占道经营"],
        ["河道里有死鱼", "水务", "河道"],
        ["这条只有大类", "生态类", ""],
    ])
    (tmp_path / "map.yml").write_text("城管问题: 城乡建设\n生态类: 环境保护\n", encoding="utf-8")
    history = training.load_history([path], catalog, label_col="大类,小类",
                                    label_map=LabelMap.load(tmp_path / "map.yml", resolver))
    assert dict(history.examples) == {
        "渣土车把路面弄得全是泥": Label("城乡建设", None),
        "路边摊占了盲道": Label("城乡建设", None),    # the map says 城管问题 → 城乡建设 for the path
        "这条只有大类": Label("环境保护", None)}
    assert history.mapped == 3 and history.unknown_labels == {"水务/河道": 1}


def test_a_hundred_thousand_rows(tmp_path, catalog):
    rows = [["text", "label"]] + [[f"第{i}号工单：小区{i % 97}号楼楼道灯坏了", ("城乡建设", "env.noise",
                                                                    "说不清")[i % 3]]
                                  for i in range(100_000)]
    path = write_csv(tmp_path / "big.csv", rows, "gb18030")
    started = time.perf_counter()
    history = training.load_history([path], catalog)
    assert time.perf_counter() - started < 30
    assert history.rows == 100_000 and len(history.examples) == 66_667
    assert history.unknown_labels == {"说不清": 33_333}
    nlu = training.write_nlu(history.examples, tmp_path / "h.yml")
    doc = yaml.safe_load(nlu.read_text(encoding="utf-8"))
    assert sum(len(b["examples"].splitlines()) for b in doc["nlu"]) == 66_667


def test_history_nlu_marks_the_depth_of_each_label(tmp_path):
    path = training.write_nlu([("楼下吵", NOISE), ("摆摊", Label("城乡建设", None)),
                               ("停水", "urban.water_supply"),
                               (training.clean_example("a: b, {c}"), Label("其他: 类, 杂", None))],
                              tmp_path / "h.yml")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    blocks = {json.dumps(b["metadata"], ensure_ascii=False): b["examples"].strip() for b in doc["nlu"]}
    assert blocks == {'{"category": "env.noise", "source": "history"}': "- 楼下吵",
                      '{"category": "urban.water_supply", "source": "history"}': "- 停水",
                      '{"level1": "其他: 类, 杂", "source": "history"}': "- a: b, ｛c｝",
                      '{"level1": "城乡建设", "source": "history"}': "- 摆摊"}
    assert all(b["intent"] == "report" for b in doc["nlu"])


# ---------------------------------------------------------------------- training and swap
def _fake_train(monkeypatch, *, ok: bool, calls: list):
    def run(cmd, **kwargs):
        target = Path(cmd[1])
        calls.append((target, kwargs["env"].get("BOT_DATA_DIR")))
        target.write_bytes(b"half a model")           # what an interrupted run leaves
        if ok:
            with tarfile.open(target, "w:gz") as tar:
                info = tarfile.TarInfo("fingerprint.json")
                tar.addfile(info)
        return subprocess.CompletedProcess(cmd, 0 if ok else 1)
    monkeypatch.setattr(training.subprocess, "run", run)


def test_a_failed_training_leaves_the_current_model(tmp_path, monkeypatch):
    current = tmp_path / "current.tar.gz"
    current.write_bytes(b"the model that works")
    calls: list = []
    _fake_train(monkeypatch, ok=False, calls=calls)
    with pytest.raises(training.TrainingError, match="当前模型未改动"):
        training.train_model(current, [], tmp_path / "train.log", ROOT / "data")
    assert current.read_bytes() == b"the model that works"
    assert calls[0][0] != current and not calls[0][0].exists()       # trained beside, removed
    assert calls[0][0].parent == tmp_path and "." not in calls[0][0].name.removesuffix(".tar.gz")
    assert calls[0][1] == str((ROOT / "data").resolve())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current.tar.gz", "train.log"]


def test_a_successful_training_swaps_the_model_in(tmp_path, monkeypatch):
    current = tmp_path / "current.tar.gz"
    current.write_bytes(b"old")
    _fake_train(monkeypatch, ok=True, calls=[])
    training.train_model(current, [], tmp_path / "train.log")
    assert tarfile.is_tarfile(current)
    assert json.loads((tmp_path / "current.train.json").read_text())["model"] == str(current)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current.tar.gz", "current.train.json",
                                                          "train.log"]


# ---------------------------------------------------------------------- cross-validation
class KeywordModel:
    """Stands in for a fold's Rasa model: 吵 → env.noise, else urban.street_vending."""

    def __init__(self, catalog, parser):
        self.catalog = catalog

    def classify(self, texts):
        return [make_classification(self.catalog, [("env.noise" if "吵" in t else
                                                    "urban.street_vending", 0.9)]) for t in texts]

    def close(self):
        pass


def test_cross_validation_reports_both_schemes_beside_the_baseline(tmp_path, catalog, monkeypatch):
    trained = []
    monkeypatch.setattr(training, "train_nlu", lambda out, extra, log, data_dir=None:
                        trained.append(extra[0].read_text(encoding="utf-8")))
    monkeypatch.setattr(training, "RasaClassifier", KeywordModel)
    history = training.History(examples=[(f"楼下{i}号很吵", Label("环境保护", None)) for i in range(6)]
                               + [(f"{i}号门口摆摊", VENDING) for i in range(6)]
                               + [(f"{i}号又吵又摆摊", Label("城乡建设", None)) for i in range(3)])
    data = training.cross_validate(history, 3, catalog, tmp_path)
    assert len(trained) == 3 and all("level1" in text and "category" in text for text in trained)
    assert data["n"] == 15 and [f["n"] for f in data["folds"]] == [5, 5, 5]
    # the keyword model gets every 环境保护 and 城乡建设/占道经营 row right, and the three
    # 一级-only 城乡建设 rows wrong (they say 吵)
    assert data["model"]["level1"]["accuracy"] == 0.8
    assert data["model"]["level2"]["n"] == 6 and data["model"]["level2"]["accuracy"] == 1.0
    assert data["baseline"]["level1"]["n"] == 15 and data["baseline"]["level1"]["macro_f1"] > 0
    assert set(data["by_depth"]) == {"level1_only", "level2"}
    assert data["by_depth"]["level1_only"]["n"] == 9
    assert data["by_depth"]["level1_only"]["model"]["level2"] is None
    with pytest.raises(training.TrainingError):
        training.cross_validate(history, 1, catalog, tmp_path)


# ---------------------------------------------------------------------- the command
def bot(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)


def test_train_refuses_a_history_with_nothing_usable(tmp_path):
    path = write_csv(tmp_path / "h.csv", [["内容", "分类"], ["马路上有坑", "道路类"], ["", "城乡建设"]])
    model = tmp_path / "model.tar.gz"
    proc = bot("train", "--history", str(path), "--out", str(model),
               env={"BOT_VAR_DIR": str(tmp_path / "var")})
    assert proc.returncode == 2 and not model.exists()
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：历史工单里没有可用的行")
    assert "道路类" in lines[0] and "(no usable rows" in lines[0] and lines[0].endswith(")")
    proc = bot("train", "--history", str(tmp_path / "missing.csv"), "--out", str(model))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_train_dry_run_reports_what_was_used(tmp_path):
    path = write_csv(tmp_path / "h.csv", [["内容", "分类"], ["楼下烧烤店半夜很吵", "环境保护"],
                                          ["路边摊占了盲道", "占道经营"], ["马路上有坑", "道路类"]],
                     encoding="utf-16", delimiter="\t")
    proc = bot("train", "--history", str(path), "--dry-run", "--json",
               env={"BOT_VAR_DIR": str(tmp_path / "var")})
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert "model" not in report
    assert report["history"]["used_by_depth"] == {"level1_only": 1, "level2": 1}
    assert report["history"]["unknown_labels"] == {"道路类": 1}
    assert report["history"]["files"][0]["encoding"] == "utf-16"
    human = bot("train", "--history", str(path), "--dry-run", env={"BOT_VAR_DIR": str(tmp_path / "var")})
    assert "只有一级分类 1" in human.stdout and "道路类 1 行" in human.stdout


# ---------------------------------------------------------------------- taxonomy import
def agency_history(path: Path) -> Path:
    rows = [["内容", "一级分类", "二级分类", "承办单位"]]
    for i in range(7):
        rows.append([f"{i}号路段渣土车撒漏", "城管问题", "渣土运输", "县城管执法大队" if i < 5 else "县交通运输局"])
    for i in range(3):
        rows.append([f"{i}号楼夜间施工", "城管问题", "夜间施工", "县城管执法大队"])
    for i in range(4):
        rows.append([f"{i}号小区物业收费", "城乡建设", "物业管理", "县住房和城乡建设局"])
    rows.append(["只有一级", "社会保障", "", ""])
    rows.append(["没有分类", "", "", "县城管执法大队"])
    return write_csv(path, rows)


def test_taxonomy_import_adopts_the_agency_scheme(tmp_path):
    history = agency_history(tmp_path / "orders.csv")
    result = import_taxonomy([history], ["一级分类", "二级分类"], "承办单位", ROOT / "data", tmp_path / "t")
    catalog = Catalog.load(tmp_path / "t")
    by_names = {(c.level1, c.level2): c for c in result.categories}
    muck = by_names[("城管问题", "渣土运输")]
    assert muck.code == stable_code("城管问题", "渣土运输") and muck.rows == 7
    assert muck.unit == "县城管执法大队"                              # the most frequent unit
    assert catalog.route(muck.code, None).body.name == "县城管执法大队"
    night = by_names[("城管问题", "夜间施工")]
    assert catalog.route(night.code, None).body.code == muck.body    # one new body for one unit
    ours = by_names[("城乡建设", "物业管理")]
    assert ours.code == "urban.property" and ours.reused
    assert catalog.route("urban.property", None).body.name == "县住房和城乡建设局"
    assert by_names[("社会保障", "其他")].unit is None and result.skipped == 1
    assert {"security.emergency", "other.misc"} <= set(catalog.categories)
    assert [b["name"] for b in result.new_bodies] == ["县城管执法大队"]
    # the history trains on the imported scheme: its names resolve to the generated codes
    assert LabelResolver(catalog).resolve("城管问题/渣土运输") == Label("城管问题", muck.code)
    again = import_taxonomy([history], ["一级分类", "二级分类"], "承办单位", ROOT / "data", tmp_path / "t2")
    assert [c.code for c in again.categories] == [c.code for c in result.categories]
    # a center that runs on the imported directory keeps the safety rules and their numbers
    from bot.nlu.urgency import assess, load_rules
    rules = load_rules(tmp_path / "t")
    assert assess("楼道里着火了，烟很大", rules).hotline == "119" and rules.model_dir == tmp_path / "t"


def test_taxonomy_import_from_one_path_column_and_refusals(tmp_path):
    path = write_csv(tmp_path / "o.csv", [["内容", "分类"], ["a", "城管问题/市容环境/占道经营"],
                                          ["b", "城管问题>市容环境"], ["c", "交通类"]])
    result = import_taxonomy([path], ["分类"], None, ROOT / "data", tmp_path / "t")
    names = sorted((c.level1, c.level2, c.rows) for c in result.categories)
    assert names == [("交通类", "其他", 1), ("城管问题", "市容环境", 2)]
    with pytest.raises(TaxonomyImportError):
        import_taxonomy([path], ["内容"][:0], None, ROOT / "data", tmp_path / "t3")
    empty = write_csv(tmp_path / "e.csv", [["内容", "分类"], ["a", ""]])
    with pytest.raises(TaxonomyImportError, match="没有带分类的行"):
        import_taxonomy([empty], ["分类"], None, ROOT / "data", tmp_path / "t4")
    with pytest.raises(TableError):
        import_taxonomy([path], ["不存在的列"], None, ROOT / "data", tmp_path / "t5")


def test_taxonomy_import_command(tmp_path):
    history = agency_history(tmp_path / "orders.csv")
    proc = bot("taxonomy", "import", "--history", str(history), "--level-cols", "一级分类,二级分类",
               "--unit-col", "承办单位", "--out", str(tmp_path / "t"))
    assert proc.returncode == 0, proc.stderr
    assert "BOT_DATA_DIR=" in proc.stdout and "渣土运输" in proc.stdout
    proc = bot("categories", "--json", env={"BOT_DATA_DIR": str(tmp_path / "t")})
    assert proc.returncode == 0, proc.stderr
    assert "县城管执法大队" in {row["body"]["name"] for row in json.loads(proc.stdout)}
    bad = bot("taxonomy", "import", "--history", str(history), "--level-cols", "没有")
    assert bad.returncode == 2 and bad.stderr.startswith("错误：") and "Traceback" not in bad.stderr


def test_normalize_joins_levels_with_one_separator():
    assert normalize(" 城管问题 > 市容环境 》占道经营 ") == "城管问题/市容环境/占道经营"
    assert normalize("a\\b|c｜d") == "a/b/c/d" and normalize(None) == ""
