"""The probe's findings, replayed as scripted chats against the running product (`bot run`:
the trained model, the action server, a fresh SQLite store), through Rasa's REST channel.

`rasa test core` (test_dialogue_conversations.py) checks the policies but runs no action, so it
cannot see the first look that Rasa runs after every message (action_validate_slot_mappings);
these chats can.
"""
from __future__ import annotations

import httpx
import pytest

from bot.run import model_path
from tests.web_support import product

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

REPORT = "小区门口的路灯坏了一排"


@pytest.fixture(scope="module")
def rasa_url(tmp_path_factory):
    if not model_path().is_file():
        pytest.skip(f"no trained model at {model_path()}: run `make model`")
    with product(tmp_path_factory.mktemp("live")) as (base, env, output, state):
        yield env["RASA_URL"]


@pytest.fixture(scope="module")
def say(rasa_url):
    def send(sender: str, text: str) -> list[dict]:
        reply = httpx.post(f"{rasa_url}/webhooks/rest/webhook", timeout=60,
                           json={"sender": f"web:{sender}", "message": text})
        reply.raise_for_status()
        return reply.json()
    return send


def words(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def buttons(messages: list[dict]) -> list[str]:
    return [b["title"] for m in messages for b in m.get("buttons") or []]


def to_read_back(say, who: str, contact: str = "不留电话") -> list[dict]:
    for line in (REPORT, "文化路28号", "最近一个月"):
        say(who, line)
    return say(who, contact)


def test_fire_inside_the_form_gets_119_then_the_form_goes_on(say):
    say("fire", "楼下烧烤店天天半夜吵")
    reply = say("fire", "着火了")
    assert "119" in words(reply) and "登记备案" in words(reply)
    assert words(reply).endswith("请问是在什么地方？说个小区、村组、路名门牌或附近的标志就行。")
    assert "方便留个手机号" in words(say("fire", "文化路28号 最近一个月"))


def test_fire_with_emoji_while_confirming_keeps_the_report(say):
    to_read_back(say, "fire2")
    reply = say("fire2", "🔥🔥着火了")
    assert "119" in words(reply) and "回复“确认”就能提交" in words(reply)
    assert "已为您登记诉求" in words(say("fire2", "确认"))


def test_crisis_gets_12356_and_a_person_never_the_anonymity_offer(say):
    reply = say("crisis", "我不想活了，欠薪三个月")
    assert "12356" in words(reply) and "转人工" in buttons(reply)
    assert "匿名" not in words(reply)


def test_crisis_inside_the_form_stops_asking_for_the_place(say):
    say("crisis2", "老板拖欠工资半年了")
    reply = say("crisis2", "我真的撑不下去了，不想活了")
    assert "12356" in words(reply) and "什么地方" not in words(reply)


def test_threat_gets_110_and_a_flagged_case_never_the_anonymity_offer(say):
    reply = say("threat", "你们再不给我解决，我就去把你们办公室炸了")
    assert "110" in words(reply) and "督办" in words(reply) and "匿名" not in words(reply)


def test_a_phone_and_a_complaint_is_a_report_with_that_contact(say):
    reply = say("phone", "我电话13912345678，楼下很吵")
    assert "噪声扰民" in words(reply)
    say("phone", "文化路28号")
    reply = say("phone", "最近一个月")
    assert "139****5678" in words(reply) and "核对" in words(reply)


def test_full_width_digits_are_a_phone(say):
    assert "139****5678" in words(to_read_back(say, "wide", "１３９１２３４５６７８"))


@pytest.mark.parametrize("number", ["139123456789", "1391234567890123"])
def test_a_number_too_long_is_refused_with_a_reason(say, number):
    reply = to_read_back(say, f"long{len(number)}", number)
    assert f"这个号码是{len(number)}位数字" in words(reply) and "核对一下登记内容" not in words(reply)


def test_a_phone_given_for_the_place_is_the_contact_and_the_place_is_asked_again(say):
    say("where", REPORT)
    reply = say("where", "13912345678")
    assert "记作您的联系电话" in words(reply) and "什么地方" in words(reply)


def test_an_emoji_is_never_consent(say):
    reply = say("emoji", "🕐")
    assert "已为您转接" not in words(reply)
    to_read_back(say, "emoji2")
    reply = say("emoji2", "👍")
    assert "已为您登记" not in words(reply) and "确认登记" in buttons(reply)


def test_a_place_too_long_is_refused_naming_the_field_and_confirm_still_works(say):
    to_read_back(say, "huge")
    reply = say("huge", "地址不对，应该是" + "城西开发区" * 600)
    assert "地点写得太长了（3000字，最多200字）" in words(reply)
    assert "已为您登记诉求" in words(say("huge", "确认"))


@pytest.mark.parametrize("text, expected", [
    ("Hello, my water has been cut off for two days", "Mandarin Chinese"),
    ("樓下啲人成晚嘈到我瞓唔著", "普通话（简体中文）")])
def test_english_and_cantonese_get_an_honest_reply(say, text, expected):
    reply = say(f"lang{len(text)}", text)
    assert expected in words(reply) and "转人工" in buttons(reply)


def test_the_intake_classifies_with_the_running_server_and_keywords_while_it_is_down(rasa_url):
    """Under `bot run` the transcript page asks the Rasa server the chat uses (one model per
    machine) instead of loading a second copy; while that server is down it falls back."""
    from bot.catalog import Catalog
    from bot.intake.classifier import ServerClassifier
    from bot.settings import ROOT

    catalog = Catalog.load(ROOT / "data")
    live = ServerClassifier(catalog, rasa_url)
    down = ServerClassifier(catalog, "http://127.0.0.1:9")
    text = "我们小区门口的路灯坏了一个多星期了，晚上黑漆漆的"
    assert live.classify([text])[0].level1 == "城乡建设" and live.uses_model
    assert down.classify([text])[0].code in catalog.categories and not down.uses_model


# ------------------------------------------------------------------ the prober's report findings
TIME_QUESTION = "这个情况是什么时候发生的"
PHONE_QUESTION = "方便留个手机号吗"


@pytest.mark.parametrize("who, said, shown", [
    ("landline", "0371-6666 8888", "037******8888"), ("spoken", "一三八一二三四五六七八", "138****5678")])
def test_a_landline_or_spoken_digits_at_the_phone_question_are_the_contact(say, who, said, shown):
    reply = to_read_back(say, who, said)
    assert "再见" not in words(reply) and "没有看到电话号码" not in words(reply)
    assert "核对一下登记内容" in words(reply) and shown in words(reply)


def test_a_phone_correction_at_the_time_question_is_never_the_time(say):
    say("fix", "楼下垃圾三天没人清")
    say("fix", "在文化路社区")
    assert TIME_QUESTION in words(say("fix", "13812345678"))
    reply = say("fix", "电话不对，是13912345679")
    assert "139****5679" in words(reply) and TIME_QUESTION in words(reply)
    reply = say("fix", "就这两天")
    assert "· 时间：就这两天" in words(reply) and "· 联系方式：139****5679" in words(reply)


def test_a_report_with_an_id_number_is_understood(say):
    reply = say("idcard", "我身份证11010519491231002X，低保申请三个月没消息")
    assert "低保" in words(reply) and "请问您想反映什么问题" not in words(reply)


def test_the_shop_owners_number_is_not_the_residents_contact(say):
    say("shop", "楼下烧烤店天天半夜吵，老板电话13933334444")
    reply = say("shop", "文化路28号")            # 天天半夜 may already be the time
    if TIME_QUESTION in words(reply):
        reply = say("shop", "最近一个月")
    assert PHONE_QUESTION in words(reply) and "核对一下登记内容" not in words(reply)


@pytest.mark.parametrize("who, said, shown", [
    ("relandline", "0371-6666 8888", "037******8888"), ("respoken", "一三八一二三四五六七八", "138****5678")])
def test_a_new_number_at_the_read_back_changes_the_contact(say, who, said, shown):
    to_read_back(say, who)
    reply = say(who, said)
    assert "已经改过来了" in words(reply) and shown in words(reply)


def test_giving_up_at_the_read_back_files_nothing(say):
    to_read_back(say, "giveup")
    reply = say("giveup", "算了不报了")
    assert "不会提交" in words(reply) and "随时" in words(reply)
    assert "修改哪一项" not in words(reply) and "已为您登记" not in words(reply)
