"""What residents really answer inside the report form (issue #15 / #10 part 5, the outside
prober's findings): landlines and spoken digits at the phone question, corrections of another
field, someone else's number in the complaint, giving up at the read-back."""
from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import report, texts as replies
from actions.contact import SERVICE_NUMBER, find_phone, others_numbers
from tests.chat_helpers import chat, run, slots, texts, tracker  # noqa: F401
from tests.test_actions_report import CLEAR, FILLED

FORM_DOMAIN = {"forms": {"report_form": {"required_slots": list(report.FORM_SLOTS)}}}
ASKED_FOR_TIME = {"report_text": "楼下垃圾三天没人清", "description": "楼下垃圾三天没人清",
                  "category": "urban.sanitation", "kind": "demand", "place": "在文化路社区",
                  "contact": "13812345678", "requested_slot": "event_time"}


def form_turn(text: str, *, intent: str, slots_now: dict, entities=(), extracted: dict = None):
    """One turn of the form as Rasa runs it: the mapped slots set this turn (`extracted`), then
    the validation action with its extract_/validate_ methods."""
    events = [{"event": "slot", "name": name, "value": value}
              for name, value in (extracted or {}).items()]
    tk = tracker(text, intent=intent, slots={**slots_now, **(extracted or {})},
                 entities=entities, active_loop="report_form")
    tk.events.extend(events)          # slots set after the user message: "to validate"
    return run(report.ValidateReportForm(), tk, FORM_DOMAIN)


# ------------------------------------------------------------------ 1. a landline, any intent
@pytest.mark.parametrize("said, expected", [
    ("0371-6666 8888", "0371-66668888"), ("0371 66668888", "0371-66668888"),
    ("(010)6512 3456", "010-65123456"), ("座机 0391-2345678", "0391-2345678")])
def test_a_landline_with_its_area_code_is_a_contact(said, expected):
    assert find_phone(said) == (expected, None)


def test_a_landline_read_as_goodbye_is_the_answer_to_the_phone_question(chat):
    events, messages = form_turn("0371-6666 8888", intent="goodbye",
                                 slots_now={"requested_slot": "contact"})
    assert slots(events)["contact"] == "0371-66668888"
    assert messages == []


def test_a_400_number_is_refused_politely_and_asked_again(chat):
    events, messages = form_turn("400-123-4567", intent="goodbye",
                                 slots_now={"requested_slot": "contact"})
    assert slots(events)["contact"] is None
    assert texts(messages) == [SERVICE_NUMBER]
    assert "再见" not in texts(messages)[0]


def test_no_number_at_the_phone_question_is_left_to_the_dialogue(chat):
    form = report.ValidateReportForm()
    tk = tracker("好的再见", intent="goodbye", slots={"requested_slot": "contact"})
    assert form.extract_contact(CollectingDispatcher(), tk, FORM_DOMAIN) == {}
    tk = tracker("0371-6666 8888", intent="inform", slots={"requested_slot": "place"})
    assert form.extract_contact(CollectingDispatcher(), tk, FORM_DOMAIN) == {}


# ------------------------------------------------------------------ 2. spoken digits
@pytest.mark.parametrize("said", ["一三八一二三四五六七八", "幺三八 幺二三四 五六七八", "我手机一三八一二三四五六七八"])
def test_a_mobile_said_in_chinese_digits_is_the_contact(chat, said):
    events, messages = form_turn(said, intent="report", slots_now={"requested_slot": "contact"},
                                 extracted={"contact": said})
    assert slots(events)["contact"] == "13812345678" and messages == []


def test_a_mobile_said_in_chinese_digits_for_the_place_becomes_the_contact(chat):
    tk = tracker("一三八一二三四五六七八", intent="inform", slots={"requested_slot": "place"})
    result = report.ValidateReportForm().validate_place("一三八一二三四五六七八",
                                                        CollectingDispatcher(), tk, {})
    assert result == {"place": None, "contact": "13812345678"}


def test_chat_and_intake_read_numbers_alike():
    from bot.intake.phones import find_numbers

    for said in ("一三八一二三四五六七八", "0371-6666 8888", "１３９１２３４５６７８"):
        intake = [n.value for n in find_numbers(said) if n.kind in ("mobile", "landline")]
        assert [find_phone(said)[0]] == intake


# ------------------------------------------------------------------ 3. another field corrected
def test_a_phone_correction_at_the_time_question_changes_the_phone_and_asks_the_time_again(chat):
    said = "电话不对，是13912345679"
    events, messages = form_turn(said, intent="correct", slots_now=ASKED_FOR_TIME,
                                 entities=[("phone", "13912345679")],
                                 extracted={"event_time": said, "contact": "13912345679"})
    got = slots(events)
    assert got["event_time"] is None and got["contact"] == "13912345679"
    assert texts(messages) == ["好的，联系电话已经改成“139****5679”了。"]


@pytest.mark.parametrize("said, field, value", [
    ("地点不对，是幸福里小区3栋", "place", "幸福里小区3栋"),
    ("地址错了，应该是城关镇北街村", "place", "城关镇北街村"),
    ("手机号不对，应该是13912345679", "contact", "13912345679"),
])
def test_a_correction_of_another_field_is_never_the_time(chat, said, field, value):
    tk = tracker(said, intent="correct", slots=ASKED_FOR_TIME)
    dispatcher = CollectingDispatcher()
    result = report.ValidateReportForm().validate_event_time(said, dispatcher, tk, {})
    assert result["event_time"] is None and result[field] == value


def test_a_correction_naming_no_value_asks_that_field_first(chat):
    tk = tracker("地点不对", intent="correct", slots=ASKED_FOR_TIME)
    dispatcher = CollectingDispatcher()
    result = report.ValidateReportForm().validate_event_time("地点不对", dispatcher, tk, {})
    assert result == {"event_time": None, "place": None}
    assert texts(dispatcher.messages) == ["好的，地点我再重新问您一下。"]


def test_a_place_correction_at_the_phone_question_changes_the_place(chat):
    said = "地址不对，应该是幸福里小区3栋"
    slots_now = {**ASKED_FOR_TIME, "event_time": "三天", "contact": None,
                 "requested_slot": "contact"}
    events, messages = form_turn(said, intent="correct", slots_now=slots_now,
                                 extracted={"contact": said})
    got = slots(events)
    assert got["contact"] is None and got["place"] == "幸福里小区3栋" and got["area"] == "S1P2"
    assert texts(messages) == ["好的，地点已经改成“幸福里小区3栋”了。"]


def test_a_phone_correction_at_the_place_question_is_never_the_place(chat):
    said = "电话不对，是13912345679"
    slots_now = {**ASKED_FOR_TIME, "place": None, "requested_slot": "place"}
    tk = tracker(said, intent="correct", slots=slots_now)
    result = report.ValidateReportForm().validate_place("13912345679", CollectingDispatcher(), tk, {})
    assert result == {"place": None, "contact": "13912345679"}


def test_an_ordinary_time_answer_is_still_the_time(chat):
    tk = tracker("时间大概是三天前", intent="inform", slots=ASKED_FOR_TIME)
    result = report.ValidateReportForm().validate_event_time("三天前", CollectingDispatcher(), tk, {})
    assert result == {"event_time": "时间大概是三天前"}


# ------------------------------------------------------------------ 4. an ID number
def test_an_id_number_is_no_phone_and_the_report_is_taken(chat):
    text = "我身份证11010519491231002X，低保申请三个月没消息"
    assert find_phone(text) == (None, None)
    events, _ = run(report.ActionCaptureReport(),
                    tracker(text, ranking=[("civil.subsistence", 0.99)]))
    assert SlotSet("report_route", "form") in events and "contact" not in slots(events)


# ------------------------------------------------------------------ 5. someone else's number
SHOP = "楼下烧烤店天天半夜吵，老板电话13933334444"


@pytest.mark.parametrize("text", [SHOP, "物业的电话是0371-66668888，打了没人管，楼道灯坏了",
                                  "对方手机13933334444，他家狗天天叫", "打他电话13933334444也不接"])
def test_a_number_said_to_be_someone_elses_is_not_the_residents(text):
    assert find_phone(text, own=True)[0] is None
    assert find_phone(text)[0] in others_numbers(text)


def test_the_residents_number_beside_someone_elses_is_kept():
    text = "我电话13812345678，老板电话13933334444，天天半夜吵"
    assert find_phone(text, own=True) == ("13812345678", None)
    assert others_numbers(text) == {"13933334444"}


def test_capture_does_not_take_the_shop_owners_number_as_the_contact(chat):
    tk = tracker(SHOP, ranking=CLEAR, entities=[("phone", "13933334444")],
                 slots={"contact": "13933334444"})       # the entity mapping filled it
    events, _ = run(report.ActionCaptureReport(), tk)
    assert slots(events)["contact"] is None
    assert SlotSet("description", SHOP) in events          # the number stays in the text


def test_the_form_still_asks_the_phone_after_someone_elses_number(chat):
    tk = tracker(SHOP, slots={"contact": "13933334444", "description": SHOP})
    result = report.ValidateReportForm().validate_contact("13933334444", CollectingDispatcher(),
                                                          tk, {})
    assert result == {"contact": None}
    result, _ = run_validate_description(SHOP)
    assert "contact" not in result


def run_validate_description(text):
    tk = tracker(text, intent="inform", slots={"category": "env.noise",
                                               "requested_slot": "description"})
    dispatcher = CollectingDispatcher()
    return (report.ValidateReportForm().validate_description(text, dispatcher, tk, {}),
            dispatcher.messages)


# ------------------------------------------------------------------ 6. giving up at the read-back
@pytest.mark.parametrize("said", ["算了不报了", "算了", "不用登记了", "那就不反映了"])
def test_giving_up_at_the_read_back_files_nothing(chat, said):
    events, messages = run(report.ActionCorrectReport(), tracker(said, intent="deny", slots=FILLED))
    assert texts(messages) == [replies.REPORT_CANCELLED]
    assert SlotSet("pending", None) in events and SlotSet("report_route", None) in events
    assert events[-1] == FollowupAction("action_listen")
    assert chat.cases.list_cases(channel="telegram", address="10001", limit=5) == []


@pytest.mark.parametrize("said", ["不对", "地址不对"])
def test_a_plain_no_at_the_read_back_still_asks_what_to_change(chat, said):
    _, messages = run(report.ActionCorrectReport(), tracker(said, intent="deny", slots=FILLED))
    assert replies.REPORT_CANCELLED not in texts(messages)


@pytest.mark.parametrize("said, expected", [("0371-6666 8888", "0371-66668888"),
                                            ("一三八一二三四五六七八", "13812345678")])
def test_a_number_the_entity_misses_at_the_read_back_changes_the_contact(chat, said, expected):
    events, messages = run(report.ActionCorrectReport(), tracker(said, intent="inform", slots=FILLED))
    assert SlotSet("contact", expected) in events and "已经改过来了" in texts(messages)[0]
