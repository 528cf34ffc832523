"""The classifier contract, figures, labels, tables and the errand catalog (no model needed)."""
from __future__ import annotations

import json

import pytest

from bot.catalog import Catalog
from bot.errands import ServiceCatalog
from bot.nlu import Classifier
from bot.nlu.evaluation import Row, load_rows, score, write_predictions
from bot.nlu.heldout import plain, read_examples
from bot.nlu.labels import Label, LabelResolver
from bot.nlu.metrics import evaluate, percentile
from bot.nlu.places import find_area
from bot.nlu.rasa import RasaClassifier
from bot.nlu.tabular import TableError, read_rows
from bot.nlu.training import clean_example, folds, write_nlu
from bot.settings import ROOT


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(ROOT / "data")


class FakeParser:
    def __init__(self, rankings):
        self.rankings = rankings
        self.closed = False

    def parse(self, texts):
        return [{"text": t, "report_ranking": self.rankings.get(t, [])} for t in texts]

    def close(self):
        self.closed = True


def test_rasa_classifier_keeps_the_protocol(catalog):
    parser = FakeParser({"楼下吵": [{"code": "env.noise", "confidence": 0.8},
                                    {"code": "not.a.code", "confidence": 0.1},
                                    {"code": "env.cooking_fume", "confidence": 0.05},
                                    {"code": "other.neighborhood", "confidence": 0.03},
                                    {"code": "env.air", "confidence": 0.01}]})
    classifier: Classifier = RasaClassifier(catalog, parser)
    first, empty = classifier.classify(["楼下吵", ""])
    assert (first.code, first.level1, first.level2, first.confidence) == ("env.noise", "环境保护", "噪声扰民", 0.8)
    assert [a.code for a in first.alternatives] == ["env.noise", "env.cooking_fume", "other.neighborhood"]
    assert first.body == {"code": "B-SthJ", "name": "县生态环境分局"}
    assert (empty.code, empty.confidence) == ("other.misc", 0.0)
    assert json.loads(json.dumps(first.to_dict(), ensure_ascii=False))["alternatives"][0]["level2"] == "噪声扰民"
    classifier.close()
    assert parser.closed


def test_metrics():
    figures = evaluate(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert figures["accuracy"] == 0.75
    assert figures["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert figures["per_class"]["b"]["f1"] == 0.8
    assert figures["macro_f1"] == round((0.6667 + 0.8) / 2, 4)
    assert figures["confusion"] == {"a": {"a": 1, "b": 1}, "b": {"b": 2}}
    assert evaluate([], [])["accuracy"] == 0.0
    assert percentile([1, 2, 3, 4, 100], 95) == 100 and percentile([], 95) == 0.0


def test_labels_resolve_codes_and_names(catalog):
    resolver = LabelResolver(catalog)
    assert resolver.resolve("env.noise") == Label("环境保护", "env.noise")
    assert resolver.resolve("噪声扰民") == Label("环境保护", "env.noise")
    assert resolver.resolve("环境保护/噪声扰民") == Label("环境保护", "env.noise")
    assert resolver.resolve("环境保护／其他") == Label("环境保护", None)
    assert resolver.resolve("城乡建设") == Label("城乡建设", None)
    assert resolver.resolve("不存在") is None and resolver.resolve("") is None


def test_tables_csv_gbk_and_xlsx(tmp_path):
    csv_path = tmp_path / "orders.csv"
    csv_path.write_bytes("内容,分类\n楼下太吵,噪声扰民\n".encode("gb18030"))
    assert read_rows(csv_path) == [{"内容": "楼下太吵", "分类": "噪声扰民"}]
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["text", "label"])
    book.active.append(["停水了", "urban.water_supply"])
    book.save(tmp_path / "orders.xlsx")
    assert read_rows(tmp_path / "orders.xlsx") == [{"text": "停水了", "label": "urban.water_supply"}]
    with pytest.raises(TableError):
        read_rows(tmp_path / "missing.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(TableError):
        read_rows(tmp_path / "x.json")


def test_evaluation_rows_score_and_predictions(catalog, tmp_path):
    path = tmp_path / "eval.csv"
    path.write_text("诉求内容,诉求分类\n楼下太吵,env.noise\n停水了,城乡建设\n,env.noise\n乱七八糟,不知道\n",
                    encoding="utf-8")
    rows, skipped = load_rows(path, catalog, None, None)
    assert skipped == 2 and [r.text for r in rows] == ["楼下太吵", "停水了"]
    parser = FakeParser({"楼下太吵": [{"code": "env.noise", "confidence": 0.9}],
                         "停水了": [{"code": "urban.water_supply", "confidence": 0.9}]})
    results = RasaClassifier(catalog, parser).classify([r.text for r in rows])
    data = score(rows, results)
    assert data["n"] == 2 and data["level1"]["accuracy"] == 1.0
    assert data["level2"]["n"] == 1 and data["level2"]["accuracy"] == 1.0
    write_predictions(tmp_path / "out.csv", rows, results)
    lines = (tmp_path / "out.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("text,label,predicted_code") and lines[2].endswith(",1,")


def test_level1_only_labels_have_no_second_level(catalog):
    rows = [Row("停水了", "城乡建设", Label("城乡建设", None))]
    parser = FakeParser({"停水了": [{"code": "urban.water_supply", "confidence": 0.9}]})
    assert score(rows, RasaClassifier(catalog, parser).classify(["停水了"]))["level2"] is None


def test_history_examples_are_safe_nlu(tmp_path):
    assert clean_example("  [噪音](env)\n很大 {x} ") == "［噪音］(env) 很大 ｛x｝"
    path = write_nlu([("楼下吵", "env.noise"), ("停水", "urban.water_supply")], tmp_path / "h.yml")
    examples = read_examples([path])
    assert [(e.text, e.intent, e.category) for e in examples] == [
        ("楼下吵", "report", "env.noise"), ("停水", "report", "urban.water_supply")]
    assert sorted(i for f in folds(10, 3) for i in f) == list(range(10))


def test_heldout_reader_strips_annotations():
    assert plain("电话[13812345678](phone)，在[幸福里](community)") == "电话13812345678，在幸福里"


def test_find_area(catalog):
    assert find_area(catalog, "文化路社区门口") == "S1P1"
    assert find_area(catalog, "我住幸福里小区") == "S1P2"
    assert find_area(catalog, "青石村二组") == "S3P1G2"
    assert find_area(catalog, "县医院对面") is None and find_area(catalog, None) is None


def test_service_catalog(catalog):
    services = ServiceCatalog.load(ROOT / "data")
    assert all(s.category in catalog.categories for s in services.services.values())
    assert services.find("办居住证要带什么").id == "residence_permit"
    assert services.find("补领结婚证需要啥").id == "marriage"
    assert services.find("今天天气") is None and services.find("") is None
    assert services.for_category("civil.subsistence").id == "subsistence"
    for code, category in catalog.categories.items():
        if category.kind == "errand":
            assert services.for_category(code), f"no service guide for errand category {code}"


def test_rasa_classifier_accepts_a_model_path(catalog, tmp_path):
    from bot.nlu.rasa import ParserError, SubprocessParser

    classifier = RasaClassifier(catalog, tmp_path / "missing.tar.gz")
    assert isinstance(classifier.parser, SubprocessParser)
    with pytest.raises(ParserError):
        classifier.classify(["楼下吵"])
