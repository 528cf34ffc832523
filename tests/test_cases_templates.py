"""Reply templates: the shipped file loads, a case gets its category's, its 一级's and the
generic ones filled in, and a wrong file is refused at load with the entry named."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from bot.cases.templates import ReplyTemplates, TemplateError
from bot.catalog import Catalog
from bot.settings import ROOT
from tests.helpers import open_case


@pytest.fixture(scope="module")
def catalog():
    return Catalog.load(ROOT / "data")


def test_shipped_file_loads_and_covers_the_stages_and_every_level1(catalog):
    templates = ReplyTemplates.load(ROOT / "data", catalog)
    assert [t.title for t in templates.generic][:4] == ["已受理", "已联系", "办理中", "已办结"]
    assert set(templates.level1) == {c.level1 for c in catalog.categories.values()}
    for template in [*templates.generic, *sum(templates.level1.values(), []),
                     *sum(templates.categories.values(), [])]:
        assert "  " not in template.text and not re.search(r"[\u4e00-\u9fff，。] [\u4e00-\u9fff]",
                                                          template.text), template


def test_a_case_gets_category_then_level1_then_generic_filled(sqlite_container):
    container = sqlite_container
    number = open_case(container.cases)       # env.noise, assigned to a body
    view = container.cases.get(number)
    offered = container.reply_templates.for_case(view, container.calendar)
    scopes = [t["scope"] for t in offered]
    assert scopes == sorted(scopes, key=["category", "level1", "generic"].index)
    assert offered[0]["title"].startswith("噪声") and offered[0]["id"] == "category:env.noise:1"
    received = next(t for t in offered if t["title"] == "已受理")
    assert number in received["text"] and view.body["name"] in received["text"]
    due = container.calendar.local(datetime.fromisoformat(view.due_at.removesuffix("Z")))
    assert f"{due.month}月{due.day}日" in received["text"]
    assert not re.search(r"\{\w+\}", " ".join(t["text"] for t in offered))


def test_an_unassigned_case_still_reads_well(sqlite_container):
    number = open_case(sqlite_container.cases, auto_assign=False, category="other.misc")
    view = sqlite_container.cases.get(number)
    offered = sqlite_container.reply_templates.for_case(view, sqlite_container.calendar)
    received = next(t for t in offered if t["title"] == "已受理")
    assert "交由代理中心办理" in received["text"]      # no body yet


def test_a_data_dir_without_the_file_offers_none(catalog, tmp_path):
    templates = ReplyTemplates.load(tmp_path, catalog)
    assert templates.for_category("env.noise", "环境保护") == []


GOOD = {"title": "已处理", "text": "您好，编号 {number} 已处理。"}


@pytest.mark.parametrize("raw,needle", [
    ({"categories": {"env.nosie": [GOOD]}}, "未知的分类编码：env.nosie"),
    ({"level1": {"环保": [GOOD]}}, "未知的一级分类：环保"),
    ({"generic": [{"title": "x", "text": "您好 {name}"}]}, "未知的占位符 {name}"),
    ({"generic": [{"title": "x", "text": "您好 {number!r}"}]}, "未知的占位符"),
    ({"generic": [{"title": "x", "text": "您好 {number"}]}, "花括号不成对"),
    ({"generic": [{"title": "", "text": "您好"}]}, "标题"),
    ({"generic": [{"title": "x", "text": "  "}]}, "不能为空"),
    ({"generic": [{"title": "x", "text": "好" * 1001}]}, "不能超过"),
    ({"generic": [GOOD, GOOD]}, "重复"),
    ({"generic": [{"title": "x"}]}, "只能有 title 和 text"),
    ({"generic": [{"title": "x", "text": "y", "extra": 1}]}, "只能有 title 和 text"),
    ({"stages": []}, "未知的分组"),
    ({"level1": ["城乡建设"]}, "映射"),
    (["generic"], "顶层必须是映射"),
])
def test_wrong_files_are_refused_naming_the_entry(catalog, raw, needle):
    with pytest.raises(TemplateError) as err:
        ReplyTemplates.parse(raw, catalog)
    assert needle in str(err.value)
    assert "reply_templates.yml" in str(err.value)


def test_bad_yaml_is_refused(catalog, tmp_path):
    (tmp_path / "reply_templates.yml").write_text("generic: [\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="YAML"):
        ReplyTemplates.load(tmp_path, catalog)
