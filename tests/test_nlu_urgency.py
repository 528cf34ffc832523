"""bot.nlu.urgency: which number to call, and when not to."""
from __future__ import annotations

import pytest

from bot.nlu.urgency import Urgency, detect_urgency, hotline_label, mentions_emergency


@pytest.mark.parametrize("text,hotline", [
    ("楼道里着火了，烟很大", "119"),
    ("厨房煤气泄漏了，闻到好大的煤气味", "119"),
    ("电梯困人了，我们被困在里面出不来", "119"),
    ("有人掉河里了", "119"),
    ("我爸突然晕倒了，叫不醒", "120"),
    ("楼下有人拿着刀追着人砍", "110"),
    ("孩子走丢了，找了一个小时", "110"),
    ("救命", "110"),
    ("路口两辆车撞车了", "122"),
    ("我老公天天喝酒打我，我不敢回家", "110"),
    ("男人喝醉了就打孩子", "110"),
])
def test_emergencies_name_the_number(text, hotline):
    urgency = detect_urgency(text)
    assert urgency.level == "emergency" and urgency.hotline == hotline and urgency.is_emergency
    assert urgency.reason


def test_several_numbers_most_important_first():
    urgency = detect_urgency("十字路口车祸，有人受伤流了好多血")
    assert urgency.hotlines == ("120", "122") and urgency.hotline == "120"
    assert detect_urgency("有人持刀伤人，流了一地血").hotlines == ("110", "120")
    assert detect_urgency("着火了还有人被困在楼上").hotlines == ("119",)


@pytest.mark.parametrize("text", [
    "去年楼道着火烧坏的电线，物业到现在也没修",
    "上个月小区车祸的赔偿还没谈好",
])
def test_past_events_are_urgent_not_emergencies(text):
    urgency = detect_urgency(text)
    assert urgency.level == "urgent" and urgency.hotline is None


@pytest.mark.parametrize("text", ["电线老化有火灾隐患", "路口井盖丢了很危险", "老楼墙皮脱落",
                                  "楼道里堆满了杂物，万一着火了怎么跑", "要是煤气泄漏了怎么办",
                                  "电动车在楼道里充电，我担心着火"])
def test_hazards_and_feared_emergencies_are_urgent(text):
    urgency = detect_urgency(text)
    assert urgency.level == "urgent" and urgency.hotline is None and urgency.reason


def test_a_feared_emergency_beside_a_real_one_is_still_an_emergency():
    assert detect_urgency("万一着火就麻烦了——现在已经着火了！").hotline == "119"


@pytest.mark.parametrize("text, hotline", [("我怕他拿刀砍人，他喝醉了在砸门", "110"),
                                           ("楼塌了，可能有人被困在里面", "119")])
def test_fear_of_a_person_or_uncertainty_is_still_an_emergency(text, hotline):
    assert detect_urgency(text).hotline == hotline


@pytest.mark.parametrize("text, mentioned", [
    ("没着火，就是烧烤的烟大", True), ("万一着火了怎么跑", True), ("去年车祸的赔偿", True),
    ("快派人来看看，出大事了", False), ("", False), (None, False)])
def test_mentions_emergency_sees_every_emergency_word(text, mentioned):
    assert mentions_emergency(text) is mentioned


@pytest.mark.parametrize("text", [
    "", "   ", None, "楼下烧烤店半夜很吵", "没着火，就是烧烤的烟大", "怎么预防火灾", "😀😀", "x" * 20000,
    "消防通道被车堵了", "物业一直不打我电话", "他们打我的手机也没人说清楚"])
def test_normal(text):
    assert detect_urgency(text) == Urgency("normal", None, "")


def test_labels():
    assert hotline_label("119") == "消防救援电话" and hotline_label("999") == "紧急求助电话"
