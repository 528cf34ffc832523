"""Issue #15, the probe's items 8, 12 and 13, as chats against the trained model and the
action server: "匿名" at any form question, a place said when two categories are offered, and a
building number as the place."""
from __future__ import annotations

import pytest

from tests.test_dialogue_live import live_env, rasa_url, say, stored, words  # noqa: F401

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

PLACE_QUESTION = "请问是在什么地方？"
TIME_QUESTION = "这个情况是什么时候发生的"
SELF_INTRODUCTION = "智能小助手"


def test_anonymous_at_the_time_question_is_kept_and_yes_is_never_the_time(say, stored):
    say("anon", "公园里的健身器材坏了")
    say("anon", "人民公园")
    reply = words(say("anon", "匿名"))
    assert "匿名反映" in reply and TIME_QUESTION in reply
    reply = words(say("anon", "确认"))
    assert "时间：确认" not in reply and TIME_QUESTION in reply
    reply = words(say("anon", "上个星期"))
    assert "· 时间：上个星期" in reply and "联系方式：匿名" in reply
    assert "方便留个手机号" not in reply
    assert "已为您登记诉求" in words(say("anon", "确认"))
    (case,) = stored("anon")
    assert case["place"] == "人民公园" and case["contact_phone"] is None
    assert "时间：上个星期" in case["text"]


def test_anonymous_at_the_place_question_is_kept_and_the_place_asked_again(say):
    say("anon2", "小区门口的路灯坏了一排")
    reply = words(say("anon2", "我要匿名反映"))
    assert "匿名反映" in reply and PLACE_QUESTION in reply and "地点：" not in reply


def test_a_place_said_for_the_category_choice_is_the_place_and_the_choice_is_asked_again(
        say, stored):
    reply = words(say("choice", "小区路灯坏了，我电话幺三八幺二三四五六七八"))
    assert "还是" in reply, reply          # the model is unsure between two categories
    reply = words(say("choice", "建设路3号"))
    assert "地点记下了：建设路3号" in reply and "还是" in reply and "您反映的是" not in reply
    reply = words(say("choice", "市政设施"))
    assert "市政设施" in reply and TIME_QUESTION in reply and PLACE_QUESTION not in reply
    reply = words(say("choice", "三天了"))
    assert "分类：城乡建设/市政设施" in reply and "地点：建设路3号" in reply
    say("choice", "确认")
    (case,) = stored("choice")
    assert case["category_code"] == "urban.municipal_facility" and case["place"] == "建设路3号"


@pytest.mark.parametrize("who, building", [("lift", "6栋"), ("lift2", "3单元"), ("lift3", "2号楼")])
def test_a_building_or_unit_is_the_place(say, who, building):
    say(who, "小区电梯坏了一周")
    reply = words(say(who, building))
    assert SELF_INTRODUCTION not in reply and "具体一点" not in reply and PLACE_QUESTION not in reply
    if TIME_QUESTION in reply:
        reply = words(say(who, "一周了"))
    assert "方便留个手机号" in reply
    assert f"· 地点：{building}" in words(say(who, "不留电话"))
