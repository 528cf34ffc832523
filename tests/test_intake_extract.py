"""Fields from what the caller says: phones, case numbers, places, names, times, summary."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.catalog import Catalog
from bot.intake.errors import IntakeError
from bot.intake.extract import caller_sentences, extract
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


def test_a_place_said_again_after_a_pause_is_one_address_not_two(places):
    assert places.find("在金桂园7栋2单元301 金桂园7栋2单元301对吧 对").address == "金桂园7栋2单元301"
    assert places.find("就在 红星路 红星路菜场门口").address.startswith("红星路")


def test_a_place_word_before_a_place_word_is_no_name(places):
    """小学工地 is the site of a school, not a site named 小学: the road before it says more."""
    assert places.find("在开发区纬二路宏达建工那个工地，就是新建的那个中学工地").address.startswith("开发区纬二路")


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


# ---------------------------------------------------------------------- real calls (issue 10 part 4)
def test_an_address_unknown_to_the_county_is_kept_and_does_not_break_the_summary(places):
    t = read_text("话务员：您好，请讲。\n市民：我住在金桂园小区8栋，楼道的灯坏了半个月了，希望物业尽快修一下。")
    found = extract(t, places)
    assert found.place.address == "金桂园小区8栋" and found.place.area is None and found.place.matched is None
    assert found.summary.startswith("来电人反映：") and "金桂园小区8栋" in found.summary and "灯坏" in found.summary


@pytest.mark.parametrize("text, address", [
    ("我家住在金桂园小区12号楼3单元501室，暖气不热", "金桂园小区12号楼3单元501室"),
    ("碧水华庭门口的路灯不亮", "碧水华庭门口"),
    ("滨江新城5栋电梯坏了", "滨江新城5栋"),
    ("我们五里村三组的水渠堵了", "五里村三组"),
    ("建设路与解放路交叉口有个大坑", "建设路与解放路交叉口"),
    ("光华路和人民路路口的红绿灯坏了", "光华路和人民路路口"),
    ("就在家福超市门口摆摊", "家福超市门口"),
    ("**小区的垃圾没人清", "**小区"),
    ("某某花园2期地下车库进水了", "某某花园2期"),
    ("红星中学旁边的网吧", "红星中学旁边"),
    ("汽车站对面天天堵车", "汽车站对面"),
])
def test_places_as_people_name_them(places, text, address):
    assert places.find(text).address == address


@pytest.mark.parametrize("text", [
    "我要反映厂里拖欠工资的事",          # not 反映厂
    "晚上跳广场舞的声音太大了",          # not 跳广场
    "公司拖欠工资三个月了",
    "学校门口的小摊不卫生",              # which school is not said
    "我家小区门口天天有人乱停车",
    "您注意安全先离开现场",           # 现场 is no place
    "晚上去吃烧烤了",
    "闻到一股烧烤味",
    "坐18路车去的",                   # a bus route, not a road
    "坐那个 二十路 公交车 司机骂人",      # said with a pause before 公交车
    "消防通道被堵了",                   # no passage of its own name
    "等了一小时",
])
def test_no_fragments_and_no_nameless_places(places, text):
    assert places.find(text).address is None


@pytest.mark.parametrize("text, address", [
    ("就在解放路老王火锅门口打起来了", "解放路老王火锅门口"),     # a shop named after the road
    ("昨晚在中山路金樽KTV被人打了", "中山路金樽KTV"),
    ("去建设银行城北支行取钱", "建设银行城北支行"),               # not 建设银行城
    ("北关夜市里面有人吵架", "北关夜市里面"),
    ("高新区第二小学乱收费", "高新区第二小学"),                   # the district prefix stays
    ("我们是丽水华亭3期5栋的", "丽水华亭3期5栋"),                 # 华庭 as ASR writes it
    ("就是 那个 幸福 小区 八栋 楼上漏水", "幸福 小区 八栋 楼上"),  # ASR blanks inside the name
    ("金桂苑 金桂苑9号楼 有人在楼顶", "金桂苑9号楼"),              # said again with the building
    ("家住幸福家园幺栋幺单元五零二", "幸福家园幺栋幺单元五零二"),
    ("在三零八国道往县城方向撞了", "三零八国道"),
    ("我是县二中的老师", "县二中"),
])
def test_places_as_callers_say_them_on_the_phone(places, text, address):
    assert places.find(text).address == address


@pytest.mark.parametrize("text, address", [
    # a named shop or facility rather than the street it is on, or the highway
    ("在那个西关农贸市场里面打起来了 就是西关街那个", "西关农贸市场里面"),
    ("在二零七国道过了那个王屯收费站往北一百米", "王屯收费站"),
    # a compound named only by its phase and building; a room after the letter of a block
    ("就是 金沙一号 二期 七栋 电梯坏了", "金沙一号 二期 七栋"),
    ("住在 科技大厦B座一二零六", "科技大厦B座一二零六"),
    # a road with its number rather than a shop, a compound rather than its road number
    ("楼下那个 老张面馆 着火了 地址是 解放路六十六号", "解放路六十六号"),
    ("小区叫 翠湖名苑 在滨河路十八号", "翠湖名苑"),
    ("人民医院门诊楼二楼收费乱", "人民医院门诊楼二楼"),
    # how it is said: taken back, said more fully, passed by, reported at, who the caller is
    ("那条路叫 幸福路 不对 是兴福路", "兴福路"),
    ("步行街，人民步行街有人摆摊", "人民步行街"),
    ("城南 城南新城 停水了", "城南新城"),
    ("育英路 从人民医院到第一中学那一段没有路灯", "育英路"),
    ("在城西派出所报的案 事情是在人民路夜市", "人民路夜市"),
    ("我们是柳庄村三组的 种子是在 丰收农资店 买的", "丰收农资店"),
    # a name said again in a later turn, with the street before it
    ("我在 银泰超市 买的 是哪个银泰 就是 南大街银泰", "南大街银泰"),
    # roads named by a date are roads; a route number in a call about a bus is not
    ("在八一路和五四路交叉口", "八一路和五四路交叉口"),
    ("我投诉那个 十九路 九路公交车 司机 在那个 城西客运站 不停", "城西客运站"),
    ("就在人民 路八十八号", "人民 路八十八号"),        # an ASR blank before 路
])
def test_the_place_of_the_matter_among_several_said(places, text, address):
    assert places.find(text).address == address


def test_a_line_said_to_the_caller_is_never_the_callers_place(places):
    t = read_text("快点 打起来了 有人拿刀\n您在什么地方\n就在那个烧烤摊 两帮人\n"
                  "您先离开那家理发店门口\n我姓张 电话13540276618")
    found = extract(t, places)
    assert found.place.address is None and found.place.landmark is None


def test_the_area_is_resolved_inside_a_longer_address(places):
    place = places.find("我在城关街道锦绣华庭5栋楼下")
    assert place.address == "城关街道锦绣华庭5栋楼下" and place.area == "S1"
    assert places.find("滨河小区隔壁的翠湖苑3栋").area == "S2P2"


def test_operator_lines_in_unlabelled_asr_are_not_the_callers(places):
    t = read_text("您好 群众事务代理热线 请讲 喂 我们翠湖苑小区门口有人拿刀砍人 好多血 先生您别着急 "
                  "具体哪个位置 就在翠湖苑北门 好的我这边帮您转接110 请您保持电话畅通")
    said = "\n".join(caller_sentences(t))
    for operator in ("别着急", "具体哪个位置", "转接", "保持电话", "请讲"):
        assert operator not in said
    found = extract(t, places)
    assert found.urgency.level == "emergency" and found.urgency.hotline == "110"
    assert found.place.address.startswith("翠湖苑")


def test_a_call_asr_ran_into_one_unpunctuated_line_keeps_the_callers_part(places):
    """Both voices in one run with no punctuation: the script inside it no longer makes the
    whole call the operator's (that gave an error and lost an emergency)."""
    t = read_text("喂出事了出事了就在翠湖苑北门口一个骑摩托的跟小轿车撞了人躺在地上头上在流血叫也不应"
                  "您先别着急我这边帮您转接120请您保持电话畅通您贵姓免贵姓钱电话就是这个号码")
    said = "".join(caller_sentences(t))
    assert "头上在流血" in said and "转接" not in said and "保持电话" not in said
    found = extract(t, places)
    assert found.urgency.level == "emergency" and "120" in found.urgency.hotlines
    assert found.place.address.startswith("翠湖苑")
    script_only = read_text("您好请讲您别着急具体哪个位置我这边帮您转接请您保持电话畅通感谢您的来电")
    with pytest.raises(IntakeError):
        extract(script_only, places)


def test_the_summary_is_one_fact_and_the_demand_not_the_first_and_last_lines(places):
    t = read_text("话务员：您好，请讲。\n市民：喂，你好。\n话务员：请问什么事？\n"
                  "市民：我是文化路社区的，我们楼后面的化粪池堵了，污水流得满地都是。\n"
                  "话务员：多久了？\n市民：三天了，希望你们派人来疏通一下。\n"
                  "话务员：好的，还有别的吗？\n市民：我家孩子下个月考试，没别的了，谢谢啊。")
    summary = extract(t, places).summary
    assert "化粪池堵了" in summary and "疏通" in summary
    assert "考试" not in summary and "谢谢" not in summary and "你好" not in summary


def test_a_crisis_in_a_call_is_told_apart_from_an_emergency(places):
    t = read_text("市民：工钱讨了两年都讨不到，我真的不想活了。\n话务员：您先别着急，慢慢说。")
    found = extract(t, places)
    assert found.urgency.level == "crisis" and found.urgency.hotline == "12356" and found.urgency.needs_person
    assert any("12356" in w and "专人" in w for w in found.warnings)


def test_a_threat_in_a_call_is_flagged_for_the_supervisors(places):
    found = extract(read_text("市民：拆迁款再不给，我就去把乡政府炸了。"), places)
    assert found.urgency.level == "threat" and found.urgency.notify_supervisors
    assert any("督办" in w and "110" in w for w in found.warnings)
    calm = extract(read_text("市民：拆迁款一直不给，我要去信访。"), places)
    assert calm.urgency.level == "normal" and not any("督办" in w for w in calm.warnings)


def test_an_errand_call_is_summed_up_by_its_question_not_the_phone_line(places):
    t = read_text("市民：你好，我是柳树湾村的。\n话务员：请讲。\n市民：我家老人八十多了，想问问高龄补贴怎么申请。\n"
                  "市民：尾号是3392，就是现在打进来的这个。\n市民：好的谢谢。")
    summary = extract(t, places).summary
    assert "高龄补贴" in summary and "柳树湾村" in summary
    assert "尾号" not in summary and "谢谢" not in summary


def test_the_summary_of_a_call_that_lists_matters_keeps_them_all_first_one_first(places):
    t = read_text("话务员：您好，请讲。\n市民：我反映三个事情。一是小区门口路灯坏了；\n"
                  "二是楼下烧烤摊油烟很大；三是我家医保报销一直没到账。\n话务员：好的。\n"
                  "市民：希望尽快处理。电话13812345678。")
    assert extract(t, places).summary == ("来电人反映：一是小区门口路灯坏了；二是楼下烧烤摊油烟很大；"
                                          "三是我家医保报销一直没到账；诉求：希望尽快处理。")
    t = read_text("市民：我要反映两件事，一是我们村的自来水发黄，二是村口的桥塌了一半，很危险。")
    assert extract(t, places).summary == "来电人反映：一是我们村的自来水发黄，二是村口的桥塌了一半，很危险。"


@pytest.mark.parametrize("text", [
    "话务员 您好\n市民 喂 喂 我 老公 喝多了 拿 刀 要 砍 我 我 躲 在 厕所 里",      # labels without a colon
    "喂 喂 我 老公 喝多了 拿 刀 要 砍 我 我 躲 在 厕所 里",                          # no labels at all
    "话务员：您好\n来电人：喂 喂 我 老公 喝多了 拿 刀 要 砍 我 我 躲 在 厕所 里"])
def test_a_call_asr_spaced_word_by_word_is_read_for_its_danger(places, text):
    """Issue 15: each blank ended a one-word sentence, so the knife attack was "normal"."""
    found = extract(read_text(text), places)
    assert found.urgency.level == "emergency" and found.urgency.hotline == "110"


def test_role_labels_without_a_colon_are_speakers_when_two_of_them_open_lines():
    t = read_text("话务员 您好\n市民 喂 喂 我 老公 喝多了 拿 刀 要 砍 我\n话务员 您 现在 安全 吗")
    assert [(turn.speaker, turn.speaker_role) for turn in t.turns] == [
        ("话务员", "operator"), ("市民", "caller"), ("话务员", "operator")]
    assert t.turns[1].text.startswith("喂 喂 我 老公")
    lone = read_text("市民 反映 楼下 很吵")                 # one line: a sentence, not a speaker
    assert not lone.has_speakers
    colon = read_text("话务员 ：您好\n市民 ：楼下很吵")
    assert [turn.text for turn in colon.turns] == ["您好", "楼下很吵"]
