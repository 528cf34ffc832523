"""What the resident meant (issue #15, the probe's four findings), action by action with a
stand-in for the running model: a new matter said inside the form, "事项改成……" at the read-back,
a category named in words, and giving up with no form asking. The same chats against the real
model and action server are in test_dialogue_live.py."""
from __future__ import annotations

import pytest
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet

from actions import followup, report, support, texts as replies
from bot.nlu.rasa import HttpParser, ParserError
from tests.chat_helpers import chat, run, slots, texts, tracker  # noqa: F401
from tests.helpers import open_case
from tests.test_actions_report import FILLED
from tests.test_actions_report_answers import form_turn

LAMP = "小区门口的路灯坏了一排"
ASKED_FOR_PLACE = {"report_text": LAMP, "description": LAMP, "category": "urban.municipal_facility",
                   "kind": "demand", "requested_slot": "place"}


@pytest.fixture
def model(monkeypatch):
    """The running server's reading of a text alone: {text: (intent, [(code, confidence)],
    first level or None)}; a text not listed is read as the server being down."""
    readings: dict[str, tuple] = {}

    def parse(self, said):
        if said[0] not in readings:
            raise ParserError("connection refused")
        intent, ranked, level1 = (*readings[said[0]], None)[:3]
        return [{"text": said[0], "intent": {"name": intent, "confidence": 0.9}, "entities": [],
                 "report_ranking": [{"code": c, "confidence": p} for c, p in ranked],
                 "report_level1": level1}]

    monkeypatch.setattr(HttpParser, "parse", parse)
    return readings


# ------------------------------------------------------------------ 1. a new matter inside the form
@pytest.mark.parametrize("said", ["不对，不是路灯，是下水道堵了", "不是路灯而是下水道堵了",
                                  "我说错了，不是路灯是下水道堵了"])
def test_a_new_matter_at_the_place_question_replaces_the_report(chat, model, said):
    model["下水道堵了"] = ("report", [("urban.municipal_facility", 0.9), ("env.water_pollution", 0.05)])
    events, messages = form_turn(said, intent="correct", slots_now=ASKED_FOR_PLACE,
                                 extracted={"place": said})
    changed = slots(events)
    assert changed["place"] is None                       # not taken as the place: asked again
    assert changed["description"] == changed["report_text"] == "下水道堵了"
    assert changed["category"] == "urban.municipal_facility"
    assert texts(messages)[0] == replies.matter_changed("下水道堵了")
    assert "市政设施" in texts(messages)[1]


def test_said_wrong_at_the_phone_question_is_a_new_matter_with_its_own_category(chat, model):
    model["楼下饭店油烟太大"] = ("report", [("env.cooking_fume", 0.8), ("env.air", 0.1)])
    asked = {**ASKED_FOR_PLACE, "place": "文化路28号", "area": "S1P1", "event_time": "最近",
             "requested_slot": "contact"}
    events, messages = form_turn("我说错了，是楼下饭店油烟太大", intent="correct", slots_now=asked,
                                 extracted={"contact": "我说错了，是楼下饭店油烟太大"})
    changed = slots(events)
    assert changed["contact"] is None and changed["description"] == "楼下饭店油烟太大"
    assert (changed["category"], changed["kind"]) == ("env.cooking_fume", "demand")
    assert "area" not in changed                          # the place said stays the place
    assert "餐饮油烟" in texts(messages)[1]


def test_said_wrong_then_a_place_is_the_place(chat, model):
    model["文化路30号"] = ("inform", [("urban.illegal_building", 0.1)])
    assert report.new_matter(ASKED_FOR_PLACE, "我说错了，是文化路30号", tracker("x")) is None


def test_a_place_that_negates_the_place_is_not_a_new_matter(chat, model):
    filled = {**ASKED_FOR_PLACE, "place": "文化路28号"}
    assert report.new_matter(filled, "不是文化路28号，是人民路3号", tracker("x")) is None


def test_with_the_server_down_the_whole_message_is_read(chat, model):
    said = "我说错了，是楼上漏水到我家"
    tk = tracker(said, intent="report", ranking=[("other.neighborhood", 0.7)])
    assert report.new_matter(ASKED_FOR_PLACE, said, tk) == "楼上漏水到我家"
    assert report.matter_slots("楼上漏水到我家", tk)["category"] == "other.neighborhood"


@pytest.mark.parametrize("said", ["不想反映了", "算了不报了", "甭登记了"])
def test_giving_up_at_a_form_question_stops_the_form(chat, said):
    events, messages = form_turn(said, intent="nlu_fallback", slots_now=ASKED_FOR_PLACE,
                                 extracted={"place": said})
    assert texts(messages) == [replies.REPORT_CANCELLED]
    assert ActiveLoop(None) in events and events[-1] == FollowupAction("action_listen")
    assert slots(events)["description"] is None and slots(events)["place"] is None


@pytest.mark.parametrize("said, asked", [("算了", "contact"), ("电话就不留了，不登记了", "contact"),
                                         ("物业说不办了", "place"),
                                         ("都说不管了不办了，我天天找他们一个多月了也没人理", "place")])
def test_what_does_not_give_up_the_report(said, asked):
    assert not report.gives_up(said, asked)


# ------------------------------------------------------------------ 2. "事项改成……" at the read-back
@pytest.mark.parametrize("field", ["事项", "问题", "内容"])
def test_a_named_matter_changes_the_matter_and_its_category_not_the_place(chat, model, field):
    model["幸福路上的饭店油烟太大"] = ("report", [("env.cooking_fume", 0.9)])
    said = f"{field}改成幸福路上的饭店油烟太大"
    events, messages = run(report.ActionCorrectReport(), tracker(
        said, intent="correct", slots=FILLED, entities=[("community", "幸福路")]))
    changed = slots(events)
    assert "place" not in changed and changed["description"] == "幸福路上的饭店油烟太大"
    assert changed["category"] == "env.cooking_fume"
    assert "· 分类：环境保护/餐饮油烟" in texts(messages)[0]
    assert "· 地点：" + FILLED["place"] in texts(messages)[0]


@pytest.mark.parametrize("said, field, value", [("地点改成人民路社区东门", "place", "人民路社区东门"),
                                                ("电话改成13912345679", "contact", "13912345679")])
def test_a_named_place_or_phone_changes_that_field(chat, said, field, value):
    events, _ = run(report.ActionCorrectReport(), tracker(said, intent="correct", slots=FILLED))
    assert slots(events)[field] == value and "description" not in slots(events)


def test_a_named_matter_read_as_a_report_while_confirming_is_a_correction(chat, model):
    model["楼道里的灯不亮"] = ("report", [("urban.property", 0.6)])
    events, messages = run(report.ActionCaptureReport(), tracker(
        "问题改成楼道里的灯不亮", slots=FILLED, ranking=[("urban.property", 0.45)]))
    assert slots(events)["description"] == "楼道里的灯不亮" and "已经改过来了" in texts(messages)[0]
    assert events[-1] == FollowupAction("action_listen")


# ------------------------------------------------------------------ 3. the category named in words
@pytest.mark.parametrize("said, code", [
    ("分类不对，这是供电的问题", "urban.power_supply"), ("分类改成供电", "urban.power_supply"),
    ("分类错了，应该是停电的事", "urban.power_supply"),
    ("分类不是医疗服务，应该是医保报销", "health.medical_insurance")])
def test_a_category_named_clearly_is_taken(chat, said, code):
    events, messages = run(report.ActionCorrectReport(), tracker(said, intent="correct", slots=FILLED))
    assert slots(events)["category"] == code
    assert "· 分类：" + chat.catalog.categories[code].label in texts(messages)[0]


@pytest.mark.parametrize("said, read, reading, offered", [
    ("这是环保方面的事", "环保方面的事", ("help", [("env.air", 0.4), ("civil.subsistence", 0.3), ("env.noise", 0.2)]),
     ["环境保护/大气污染", "环境保护/餐饮油烟", "环境保护/水污染"]),
    ("应该归城管管", "城管管", ("correct", [("gov.conduct", 0.6), ("urban.street_vending", 0.2)], "城乡建设"),
     ["城乡建设/占道经营", "城乡建设/物业管理", "城乡建设/房屋质量"])])
def test_a_category_named_loosely_offers_the_first_level_it_names(chat, model, said, read,
                                                                   reading, offered):
    model[read] = reading                 # the model reads what is said beside the complaint
    events, messages = run(report.ActionCorrectReport(), tracker(
        f"分类不对，{said}", intent="correct",
        slots={**FILLED, "category_options": ["env.noise", "other.neighborhood"]}))
    assert events == [SlotSet("report_route", "wait")]
    # the current category (噪声扰民) is not offered again, nor an unrelated likely one (低保)
    assert [b["title"] for b in messages[0]["buttons"]] == offered


# ------------------------------------------------------------------ 4. giving up with no form asking
def test_giving_up_with_nothing_reported_is_acknowledged(chat):
    events, messages = run(followup.ActionPrepareWithdraw(), tracker("算了不报了", intent="withdraw"))
    assert texts(messages) == [replies.NOTHING_TO_CANCEL] and events == [SlotSet("pending", None)]


def test_giving_up_after_filing_names_the_case_and_how_to_withdraw_it(chat):
    number = open_case(chat.cases, channel="telegram", address="10001")
    opened = [{"event": "action", "name": "action_open_case"},
              {"event": "slot", "name": "case_number", "value": number}]
    events, messages = run(followup.ActionPrepareWithdraw(), tracker(
        "不想反映了", intent="withdraw", slots={"case_number": number}, events=opened))
    assert texts(messages) == [replies.case_kept(number, chat.cases.get(number).summary,
                                                 just_filed=True)]
    assert events == [SlotSet("pending", None)]                  # nothing asked, nothing withdrawn
    assert chat.cases.get(number).state != "withdrawn"
    _, messages = run(followup.ActionPrepareWithdraw(), tracker("撤回我的诉求", intent="withdraw"))
    assert f"确定要撤回编号 {number}" in texts(messages)[0]


def test_giving_up_while_asked_which_category_drops_the_report(chat):
    events, messages = run(followup.ActionPrepareWithdraw(), tracker(
        "算了不报了", intent="withdraw", slots={"report_text": LAMP, "report_route": "clarify"}))
    assert texts(messages) == [replies.REPORT_CANCELLED] and SlotSet("report_text", None) in events


def test_giving_up_misunderstood_is_not_asked_what_to_report(chat):
    tk = tracker("不想反映了", intent="nlu_fallback")
    tk.latest_action_name = "action_listen"
    events, messages = run(support.ActionFallback(), tk)
    assert texts(messages) == [replies.NOTHING_TO_CANCEL]
    assert events[-1] == FollowupAction("action_listen")


@pytest.mark.parametrize("said, field, value", [
    ("事项改成楼上别弄了天天装修到半夜", "description", "楼上别弄了天天装修到半夜"),
    ("电话改成不留了", "contact", replies.ANONYMOUS)])
def test_a_named_change_is_never_giving_up(chat, said, field, value):
    events, messages = run(report.ActionCorrectReport(), tracker(said, intent="correct", slots=FILLED))
    assert slots(events)[field] == value and replies.REPORT_CANCELLED not in texts(messages)


# ------------------------------------------------- 5. the probe's items 8, 12, 13: answers misread
ASKED_FOR_TIME = {**ASKED_FOR_PLACE, "place": "人民公园", "requested_slot": "event_time"}


@pytest.mark.parametrize("said, intent, asked", [
    ("匿名", "anonymous", ASKED_FOR_TIME), ("我要匿名反映", "inform", ASKED_FOR_TIME),
    ("匿名", "anonymous", ASKED_FOR_PLACE), ("不留电话", "anonymous", ASKED_FOR_PLACE)])
def test_anonymity_at_any_question_is_kept_and_the_question_stays(chat, said, intent, asked):
    field = asked["requested_slot"]
    events, messages = form_turn(said, intent=intent, slots_now=asked, extracted={field: said})
    changed = slots(events)
    assert changed["contact"] == replies.ANONYMOUS and changed[field] is None
    assert texts(messages) == [replies.ANONYMOUS_NOTED]


def test_a_report_said_anonymously_is_not_only_anonymity(chat):
    assert not report.wants_anonymity("我想匿名举报楼下饭店往河里排污水",
                                      tracker("x", intent="anonymous"))


@pytest.mark.parametrize("said", ["确认", "好的", "是的", "对", "嗯", "可以"])
def test_yes_is_never_the_time_nor_the_place(chat, said):
    events, messages = form_turn(said, intent="affirm", slots_now=ASKED_FOR_TIME,
                                 extracted={"event_time": said})
    assert slots(events)["event_time"] is None and texts(messages) == [replies.TIME_NOT_AN_ANSWER]
    events, _ = form_turn(said, intent="affirm", slots_now=ASKED_FOR_PLACE, extracted={"place": said})
    assert slots(events)["place"] is None


@pytest.mark.parametrize("said", ["6栋", "3单元", "2号楼", "5栋2单元", "十二栋"])
def test_a_building_or_unit_read_as_chitchat_is_the_place(chat, said):
    events, messages = form_turn(said, intent="chitchat", slots_now=ASKED_FOR_PLACE)
    assert slots(events)["place"] == said and messages == []


def test_a_building_is_no_place_when_another_question_is_asked(chat):
    events, _ = form_turn("6栋", intent="chitchat", slots_now=ASKED_FOR_TIME)
    assert "place" not in slots(events)


CHOOSING = {"report_text": "小区路灯坏了", "report_route": "clarify",
            "category_options": ["transport.road", "urban.municipal_facility", "env.noise"]}


@pytest.mark.parametrize("said, place", [("建设路3号", "建设路3号"), ("在幸福小区门口", "幸福小区门口")])
def test_a_place_said_for_the_category_choice_is_the_place_and_the_choice_asked_again(
        chat, said, place):
    events, messages = run(report.ActionChooseCategory(), tracker(said, intent="inform", slots=CHOOSING))
    changed = slots(events)
    assert changed["place"] == place and "category" not in changed
    assert changed["report_route"] == "clarify" and events[-1] == FollowupAction("action_listen")
    assert texts(messages)[0] == f"好的，地点记下了：{place}。"
    assert "还是" in texts(messages)[1] and len(messages[1]["buttons"]) == 3


def test_the_place_said_back_masks_a_phone_typed_into_it(chat):
    _, messages = run(report.ActionChooseCategory(),
                      tracker("幸福路12号 联系13812345678", intent="inform", slots=CHOOSING))
    assert "13812345678" not in texts(messages)[0] and "138****5678" in texts(messages)[0]


def test_an_answer_that_picks_nothing_asks_the_choice_again(chat):
    events, messages = run(report.ActionChooseCategory(), tracker("嗯嗯", intent="inform", slots=CHOOSING))
    assert slots(events)["report_route"] == "clarify" and "category" not in slots(events)
    assert texts(messages)[0] == replies.CHOOSE_AGAIN


@pytest.mark.parametrize("said, code", [
    ("市政设施", "urban.municipal_facility"), ("第一个", "transport.road"),
    ("后面那个", "urban.municipal_facility"), ("是市政设施的问题", "urban.municipal_facility")])
def test_a_category_named_or_picked_by_position_is_the_choice(chat, said, code):
    events, _ = run(report.ActionChooseCategory(), tracker(said, intent="inform", slots=CHOOSING))
    assert slots(events)["category"] == code and slots(events)["report_route"] == "form"


def test_a_category_named_but_read_as_a_report_is_the_choice(chat):
    tk = tracker("市政设施", intent="report", slots=CHOOSING, ranking=[("market.management", 0.4)])
    events, messages = run(report.ActionCaptureReport(), tk)
    assert slots(events)["category"] == "urban.municipal_facility"
    assert slots(events)["report_route"] == "form" and "市政设施" in texts(messages)[0]
