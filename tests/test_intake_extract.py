"""Fields from what the caller says: phones, case numbers, places, names, times, summary."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.catalog import Catalog
from bot.intake.errors import IntakeError
from bot.intake.extract import extract
from bot.intake.names import find_name
from bot.intake.phones import find_case_numbers, find_numbers
from bot.intake.places import PlaceMatcher
from bot.intake.reader import read_text
from bot.intake.times import find_time
from bot.settings import ROOT


@pytest.fixture(scope="module")
def places() -> PlaceMatcher:
    return PlaceMatcher(Catalog.load(Path(ROOT / "data")))


@pytest.mark.parametrize("text, number", [
    ("我电话是13812345678", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    ("幺三八，一二三四，五六七八", "13812345678"),
    ("一 三 八 一 二 三 四 五 六 七 八", "13812345678"),
    ("一五九零零零两两三三四", "15900022334"),
    ("+86 139 0000 1111", "13900001111"),
    ("１３９００００１１１１", "13900001111"),
    ("座机0571-87654321", "0571-87654321"),
    ("零五七一 八七六五 四三二一", "0571-87654321"),
    ("010-66012345", "010-66012345"),
])
def test_phone_forms(text, number):
    found = [n for n in find_numbers(text) if n.kind in ("mobile", "landline")]
    assert [n.value for n in found] == [number]


def test_not_phones():
    assert not [n for n in find_numbers("2026-11-20 09:15:02 三四个人等了两三天，花了12000元")
                if n.kind in ("mobile", "landline", "local")]


@pytest.mark.parametrize("text, number", [
    ("编号是20261122-0007", "20261122-0007"),
    ("工单号 JJ20261113-0045 还没处理", "JJ20261113-0045"),
    ("编号二零二六一一二二杠零零零七", "20261122-0007"),
    ("受理号是202611220012", "20261122-0012"),
])
def test_case_numbers(text, number):
    assert [n.value for n in find_case_numbers(text)] == [number]


def test_tail_only():
    assert [(n.value, n.kind) for n in find_numbers("尾号是5678的那个")] == [("5678", "tail")]


@pytest.mark.parametrize("text, area", [
    ("我是东湖街道滨河社区的", "S2P2"),
    ("青石村二组的水渠堵了", "S3P1G2"),
    ("青石2组", "S3P1G2"),
    ("文化路28号楼下", "S1P1"),
    ("河口那边的路坏了", "S4"),          # 河口乡 and 河口村 share it: the town
    ("幸福小区门口", "S1P2"),              # an alias from areas.yml
    ("文化站一直锁着门", None),            # not 文化路
    ("县政务大厅", None),
])
def test_places(places, text, area):
    assert places.find(text).area == area


def test_address_keeps_the_free_text(places):
    place = places.find("我住在幸福里小区3栋2单元，楼道灯坏了")
    assert place.area == "S1P2" and place.address.startswith("幸福里小区3栋2单元")


@pytest.mark.parametrize("caller, operator, labels, want", [
    ("免贵姓王", "好的王女士", [], "王女士"),
    ("我姓刘，刘先生", "", [], "刘先生"),
    ("我叫孙建军，包工头姓赵", "", [], "孙建军"),
    ("姓黄。", "", [], "黄"),
    ("", "", ["市民王先生"], "王先生"),
    ("姓邓", "", ["女士"], "邓女士"),
    ("我是文化路社区的", "", [], None),
])
def test_names(caller, operator, labels, want):
    name = find_name(caller, operator, labels)
    assert (name.display if name else None) == want


@pytest.mark.parametrize("text, at", [
    ("昨天晚上十点多楼下吵", "2026-11-19T22:00"),
    ("11月18号下午3点半停的电", "2026-11-18T15:30"),
    ("上周三发生的", "2026-11-11"),
    ("三天前", "2026-11-17"),
    ("从上个月开始就这样", None),
])
def test_times(text, at):
    found = find_time(text, datetime(2026, 11, 20, 9, 15))
    assert found is not None and found.at == at


def test_facts_come_from_the_caller_not_the_operator(places):
    t = read_text("话务员：您好，示范县代理热线，如遇火灾请拨打119，我的工号是13800000000。\n"
                  "市民：我是滨河社区的，楼下饭店油烟太大，电话15900001111，姓陈。")
    found = extract(t, places)
    assert found.urgency.level == "normal"
    assert found.phone.number == "15900001111"
    assert found.place.area == "S2P2"
    assert "油烟" in found.summary and "119" not in found.summary


def test_third_party_phone_is_not_the_callers(places):
    t = read_text("市民：物业电话是13900002222，他们不管，我的电话是13800001111。")
    found = extract(t, places)
    assert found.phone.number == "13800001111" and "13900002222" in found.other_phones


def test_operator_read_back_when_caller_only_confirms(places):
    t = read_text("市民：我家停水了，在幸福里。\n话务员：您的电话是13812345678对吗？\n市民：对。")
    assert extract(t, places).phone.number == "13812345678"


def test_caller_id_from_batch_metadata(places):
    t = read_text("市民：幸福里停水了，就打这个号码找我。")
    t.meta["caller_number"] = "13855556666"
    assert extract(t, places).phone.number == "13855556666"


def test_no_caller_turns_is_an_error(places):
    t = read_text("话务员：您好，请讲。\n话务员：喂？您好？\n话务员：没有声音，先挂断了。")
    with pytest.raises(IntakeError) as info:
        extract(t, places)
    assert "来电人" in info.value.zh and "caller" in info.value.en
