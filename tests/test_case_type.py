"""The 12345 type (bot/nlu/case_type.py): clear cases, the training file, and the real
development set's accuracy floor (skipped without the data, required when CI=true)."""
from __future__ import annotations

import os

import pytest
import yaml

from bot.nlu.case_type import (CASE_TYPES, DATA_FILE, CaseTypeModel, ending_sentence, model,
                               predict_case_type)
from bench.case_type import DEV_SET, measure, read_dev_set

# A little below the figure bench/case_type.py prints (0.796 when this floor was set).
DEV_SET_FLOOR = 0.785


@pytest.mark.parametrize("text, expected", [
    ("请问居住证到期了去哪里续办？", "咨询"),
    ("想了解一下灵活就业人员医保怎么交", "咨询"),
    ("老板拖欠我们四个月工资，一直不给，投诉到哪里都没用", "投诉"),
    ("我要举报小区有人私自在楼顶搭建彩钢房", "举报"),
    ("家里老人卧病在床，生活实在困难，求助政府帮帮我们", "求助"),
    ("建议在学校门口增设一个红绿灯，保障孩子们过马路的安全", "建议"),
    ("非常感谢社区网格员帮我们把漏水修好了，给你们点赞", "表扬"),
])
def test_clear_types(text, expected):
    assert predict_case_type(text) == expected


@pytest.mark.parametrize("text, expected", [
    # a letter that opens with the trouble and ends with the ask
    ("这条路去年8月开始施工，到现在还没有修完，噪音也很大。请问预计什么时候完工？", "咨询"),
    ("我们这里的公交车班次太少，早上等车要半个多小时，很多上班族都迟到，希望考虑增加早高峰的班次。",
     "建议"),
    ("网上买的东西质量有问题，商家不给退，客服也不回复，请帮帮忙处理。", "投诉"),
])
def test_letters_are_typed_by_their_ask(text, expected):
    assert predict_case_type(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("油烟很大，找过物业好几次都不管。请问这种情况应该找哪个部门？谢谢！", "请问这种情况应该找哪个部门？"),
    ("街上很黑，老人出门不方便。\n建议加装路灯。此致\n敬礼", "建议加装路灯"),
    ("只有一句话没有标点", "只有一句话没有标点"),
    ("谢谢！", "谢谢！"),          # nothing but thanks: the text itself
    ("", ""),
])
def test_ending_sentence_is_the_last_one_that_says_something(text, expected):
    assert ending_sentence(text) == expected


def test_empty_text_is_a_question_and_every_prediction_is_a_known_type():
    assert predict_case_type("  ") == "咨询"
    assert {p.type for p in model().predict_many(["", "好", "？？", "123"])} <= set(CASE_TYPES)


def test_training_file_covers_every_type_with_enough_sentences():
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    assert set(data) == set(CASE_TYPES)
    assert all(len(sentences) >= 20 for sentences in data.values())
    flat = [s for sentences in data.values() for s in sentences]
    assert len(flat) == len(set(flat)), "a sentence is listed twice"


def test_training_data_with_an_unknown_type_is_refused():
    with pytest.raises(ValueError, match="抱怨"):
        CaseTypeModel({"抱怨": ["太吵了"], "咨询": ["请问"]})


def test_accuracy_on_the_real_development_set():
    if not DEV_SET.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the development set is missing: {DEV_SET}")
        pytest.skip(f"real development set not found at {DEV_SET}")
    result = measure(read_dev_set())
    assert result["n"] > 10000
    odd, even = read_dev_set(half="odd"), read_dev_set(half="even")
    assert len(odd) + len(even) == result["n"] and not set(odd) & set(even)
    assert result["accuracy"] >= DEV_SET_FLOOR, result["per_kind"]
    assert all(figures["accuracy"] >= 0.65 for figures in result["per_kind"].values())


def test_fast_scoring_reproduces_the_fitted_model():
    vectorizer, svm = model()._sklearn
    texts = ["请问居住证到期了去哪里续办？", "楼下  很吵\n\n投诉多次 ABC abc", "", "表扬表扬表扬"]
    expected = svm.decision_function(vectorizer.transform(texts))
    for text, row in zip(texts, expected):
        assert model()._scores(text) == pytest.approx([float(v) for v in row], abs=1e-9)
