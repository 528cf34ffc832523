"""The probe's findings, replayed as scripted chats against the running product (`bot run`:
the trained model, the action server, a fresh SQLite store), through Rasa's REST channel.

`rasa test core` (test_dialogue_conversations.py) checks the policies but runs no action, so it
cannot see the first look that Rasa runs after every message (action_validate_slot_mappings);
these chats can.
"""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.run import model_path
from tests.web_support import product

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

REPORT = "小区门口的路灯坏了一排"


@pytest.fixture(scope="module")
def live_env(tmp_path_factory):
    if not model_path().is_file():
        pytest.skip(f"no trained model at {model_path()}: run `make model`")
    with product(tmp_path_factory.mktemp("live")) as (base, env, output, state):
        yield env


@pytest.fixture(scope="module")
def rasa_url(live_env):
    return live_env["RASA_URL"]


@pytest.fixture(scope="module")
def stored(live_env):
    """The cases a resident (the sender's name) has in the product's store, oldest first."""
    engine = create_engine(live_env["DATABASE_URL"])

    def cases_of(who: str) -> list[dict]:
        with engine.connect() as conn:
            return [dict(row) for row in conn.execute(text(
                "select number, text, category_code, place, contact_phone, state from cases "
                "where channel = 'web' and address = :who order by id"), {"who": who}).mappings()]
    yield cases_of
    engine.dispose()


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


# ------------------------------------------------------------------ issue 15: what the resident meant
READ_BACK = "核对一下登记内容"
PLACE_QUESTION = "请问是在什么地方"


def file_it(say, who: str) -> str:
    reply = say(who, "确认")
    (case,) = [m["custom"]["case"] for m in reply if "case" in (m.get("custom") or {})]
    return case["number"]


def test_a_new_matter_said_at_the_place_question_replaces_the_report(say, stored):
    say("matter", REPORT)
    reply = say("matter", "不对，不是路灯，是下水道堵了")
    assert "事项改成“下水道堵了”" in words(reply) and PLACE_QUESTION in words(reply)
    say("matter", "文化路28号")
    say("matter", "最近一个月")
    reply = say("matter", "13912345678")
    assert "· 事项：下水道堵了" in words(reply) and "路灯" not in words(reply)
    assert "· 地点：文化路28号" in words(reply)
    file_it(say, "matter")
    (case,) = stored("matter")
    assert case["text"].startswith("下水道堵了") and "路灯" not in case["text"]
    assert (case["category_code"], case["place"], case["contact_phone"]) == (
        "urban.municipal_facility", "文化路28号", "13912345678")


def test_said_wrong_at_the_phone_question_changes_the_matter_and_its_category(say, stored):
    for line in (REPORT, "文化路28号", "最近一个月"):
        say("slip", line)
    reply = say("slip", "我说错了，是楼下饭店油烟太大熏得没法开窗")
    assert "餐饮油烟" in words(reply) and PHONE_QUESTION in words(reply)
    reply = say("slip", "不留电话")
    assert "· 事项：楼下饭店油烟太大熏得没法开窗" in words(reply)
    assert "· 分类：环境保护/餐饮油烟" in words(reply)
    file_it(say, "slip")
    (case,) = stored("slip")
    assert case["text"].startswith("楼下饭店油烟太大") and case["category_code"] == "env.cooking_fume"
    assert case["place"] == "文化路28号" and case["contact_phone"] is None


@pytest.mark.parametrize("who, field", [("matter2", "事项"), ("matter3", "问题")])
def test_a_named_matter_at_the_read_back_changes_the_matter_not_the_place(say, stored, who, field):
    to_read_back(say, who, "13812345678")
    reply = say(who, f"{field}改成幸福路上的饭店油烟太大")
    assert "· 事项：幸福路上的饭店油烟太大" in words(reply) and "· 地点：文化路28号" in words(reply)
    assert "· 分类：环境保护/餐饮油烟" in words(reply)
    reply = say(who, "地点改成人民路社区东门")
    assert "· 地点：人民路社区东门" in words(reply) and "· 事项：幸福路上的饭店油烟太大" in words(reply)
    reply = say(who, "电话改成13912345679")
    assert "139****5679" in words(reply)
    file_it(say, who)
    (case,) = stored(who)
    assert case["text"].startswith("幸福路上的饭店油烟太大")
    assert (case["category_code"], case["place"], case["contact_phone"]) == (
        "env.cooking_fume", "人民路社区东门", "13912345679")


def test_a_category_named_at_the_read_back_is_taken(say, stored):
    to_read_back(say, "power")
    reply = say("power", "分类不对，这是供电的问题")
    assert "· 分类：城乡建设/供电" in words(reply) and "· 事项：" + REPORT in words(reply)
    file_it(say, "power")
    (case,) = stored("power")
    assert (case["category_code"], case["text"].split("（")[0]) == ("urban.power_supply", REPORT)


def test_a_category_named_loosely_is_offered_with_its_neighbours(say):
    to_read_back(say, "loose")
    reply = say("loose", "分类不对，这是环保方面的事")
    offered = buttons(reply)
    assert offered and all(title.startswith("环境保护/") for title in offered), offered


def test_giving_up_with_nothing_being_reported_files_nothing(say, stored):
    reply = say("nothing", "不想反映了")
    assert "没有正在登记的事项" in words(reply) and "具体说说" not in words(reply)
    assert stored("nothing") == []


def test_giving_up_after_filing_says_how_to_withdraw_and_keeps_the_case(say, stored):
    to_read_back(say, "filed")
    number = file_it(say, "filed")
    reply = say("filed", "算了不报了")
    assert number in words(reply) and "回复“撤回”" in words(reply)
    assert "确定要撤回" not in words(reply)
    assert [c["state"] for c in stored("filed")] != ["withdrawn"]
    assert "确定要撤回编号 " + number in words(say("filed", "撤回"))


def test_giving_up_inside_the_form_stops_it_and_files_nothing(say, stored):
    say("quit", REPORT)
    reply = say("quit", "不想反映了")
    assert "不会提交" in words(reply) and TIME_QUESTION not in words(reply)
    reply = say("quit", "文化路28号")
    assert TIME_QUESTION not in words(reply) and READ_BACK not in words(reply)
    assert stored("quit") == []
