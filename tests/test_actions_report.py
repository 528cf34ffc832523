"""Taking a report: capture, form validation, read-back, correction, opening the case."""
from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import report, texts as replies
from tests.chat_helpers import SENDER, chat, run, texts, tracker  # noqa: F401

NOISE = "楼下烧烤店每天半夜还很吵，吵得孩子睡不着"
CLEAR = [("env.noise", 0.93), ("env.cooking_fume", 0.04), ("other.neighborhood", 0.01)]


def test_capture_clear_report_goes_to_the_form(chat):
    events, messages = run(report.ActionCaptureReport(), tracker(NOISE, ranking=CLEAR))
    assert events == [
        SlotSet("report_text", NOISE), SlotSet("report_key", "m-1"), SlotSet("pending", None),
        SlotSet("category", "env.noise"),
        SlotSet("category_options", ["env.noise", "env.cooking_fume", "other.neighborhood"]),
        SlotSet("kind", "demand"), SlotSet("description", NOISE), SlotSet("report_route", "form")]
    assert texts(messages) == ["好的，您反映的是“环境保护／噪声扰民”方面的问题，我来帮您登记。"]


def test_capture_recognises_the_area(chat):
    text = "文化路社区门口的路灯坏了一排，晚上黑漆漆的"
    events, _ = run(report.ActionCaptureReport(),
                    tracker(text, ranking=[("urban.municipal_facility", 0.9)]))
    assert SlotSet("area", "S1P1") in events
    assert SlotSet("report_route", "form") in events


def test_capture_errand_remembers_the_service(chat):
    text = "我想办个居住证，在这边打工快一年了"
    events, messages = run(report.ActionCaptureReport(),
                           tracker(text, ranking=[("security.residence_permit", 0.95)]))
    assert SlotSet("kind", "errand") in events
    assert SlotSet("errand", "residence_permit") in events
    assert "您要办理的是“公安政法／居住证办理”。一般需要准备：本人居民身份证原件" in texts(messages)[0]


def test_capture_emergency_words_win_over_the_category(chat):
    text = "楼道里着火了，烟很大"
    events, messages = run(report.ActionCaptureReport(),
                           tracker(text, ranking=[("urban.property", 0.6), ("security.emergency", 0.3)]))
    assert events == [
        SlotSet("report_text", text), SlotSet("report_key", "m-1"), SlotSet("pending", None),
        SlotSet("category", "security.emergency"),
        SlotSet("category_options", ["urban.property", "security.emergency"]),
        SlotSet("kind", "demand"), SlotSet("report_route", "emergency")]
    assert messages == []


def test_capture_a_feared_fire_is_a_report_not_an_emergency(chat):
    text = "楼道里堆满了杂物，万一着火了怎么跑"
    events, _ = run(report.ActionCaptureReport(), tracker(
        text, ranking=[("security.emergency", 0.93), ("urban.property", 0.6)]))
    assert SlotSet("report_route", "emergency") not in events
    assert SlotSet("category", "urban.property") in events
    assert SlotSet("category_options", ["urban.property"]) in events


def test_capture_trusts_the_model_when_no_emergency_word_was_read(chat):
    text = "快派人来看看，出大事了"
    events, _ = run(report.ActionCaptureReport(), tracker(
        text, ranking=[("security.emergency", 0.8), ("security.public_order", 0.1)]))
    assert SlotSet("report_route", "emergency") in events
    assert SlotSet("category", "security.emergency") in events


def test_capture_unsure_asks_which_one(chat):
    text = "饭店的排风机对着我家窗户"
    ranking = [("env.cooking_fume", 0.41), ("env.noise", 0.38), ("other.neighborhood", 0.1)]
    events, messages = run(report.ActionCaptureReport(), tracker(text, ranking=ranking))
    assert events == [
        SlotSet("report_text", text), SlotSet("report_key", "m-1"), SlotSet("pending", None),
        SlotSet("category_options", ["env.cooking_fume", "env.noise", "other.neighborhood"]),
        SlotSet("report_route", "clarify")]
    assert messages[0]["text"] == "您是想反映“环境保护/餐饮油烟”方面的问题，还是“环境保护/噪声扰民”方面的问题？"
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/inform{"category": "env.cooking_fume"}', '/inform{"category": "env.noise"}',
        '/inform{"category": "other.neighborhood"}']


def test_capture_after_clarification_keeps_the_first_words(chat):
    tk = tracker("是油烟的问题", ranking=[("env.cooking_fume", 0.9)],
                 slots={"report_route": "clarify", "report_text": "饭店的排风机对着我家窗户"})
    events, _ = run(report.ActionCaptureReport(), tk)
    assert SlotSet("report_text", "饭店的排风机对着我家窗户；是油烟的问题") in events
    assert SlotSet("category", "env.cooking_fume") in events
    assert SlotSet("report_route", "form") in events


def test_capture_without_content_asks_for_a_description(chat):
    events, messages = run(report.ActionCaptureReport(),
                           tracker("我要投诉", ranking=[("other.misc", 0.2)]))
    assert events == [SlotSet("report_text", "我要投诉"), SlotSet("report_key", "m-1"),
                      SlotSet("pending", None), SlotSet("description", None),
                      SlotSet("report_route", "describe")]
    assert messages == []


def test_choose_category_from_a_button(chat):
    tk = tracker("/inform", intent="inform",
                 slots={"category": "env.noise", "report_text": "饭店的排风机对着我家窗户",
                        "category_options": ["env.cooking_fume", "env.noise"]})
    events, messages = run(report.ActionChooseCategory(), tk)
    assert events == [SlotSet("category", "env.noise"),
                      SlotSet("category_options", ["env.cooking_fume", "env.noise"]),
                      SlotSet("kind", "demand"),
                      SlotSet("description", "饭店的排风机对着我家窗户"),
                      SlotSet("report_route", "form")]
    assert texts(messages) == ["好的，您反映的是“环境保护／噪声扰民”方面的问题，我来帮您登记。"]


# ------------------------------------------------------------------ form
def validate(slot: str, value, **kwargs):
    """Call one validate_<slot> of the form with `value` as the extracted slot value."""
    tk = tracker(str(value), intent=kwargs.pop("intent", "inform"), **kwargs)
    dispatcher = CollectingDispatcher()
    method = getattr(report.ValidateReportForm(), f"validate_{slot}")
    return method(value, dispatcher, tk, {}), dispatcher.messages


def test_required_slots_skip_time_for_errands(chat):
    action = report.ValidateReportForm()
    slots = ["description", "place", "event_time", "contact"]
    errand = tracker("x", slots={"kind": "errand"})
    demand = tracker("x", slots={"kind": "demand"})
    assert asyncio.run(action.required_slots(slots, None, errand, {})) == ["description", "place", "contact"]
    assert asyncio.run(action.required_slots(slots, None, demand, {})) == slots


def test_description_too_short_is_asked_again(chat):
    result, messages = validate("description", "投诉")
    assert result == {"description": None}
    assert texts(messages) == [replies.TOO_SHORT]


def test_description_classifies_when_no_category_yet(chat):
    result, messages = validate("description", "小区电梯老是坏，经常停在半路",
                                ranking=[("market.special_equipment", 0.8), ("urban.property", 0.1)],
                                slots={"report_text": "我要投诉"})
    assert result == {"description": "小区电梯老是坏，经常停在半路", "report_text": "我要投诉",
                      "category": "market.special_equipment",
                      "category_options": ["market.special_equipment", "urban.property"],
                      "kind": "demand"}
    assert texts(messages) == ["好的，您反映的是“市场监管／特种设备”方面的问题，我来帮您登记。"]


def test_place_sets_the_area(chat):
    assert validate("place", "幸福里小区3栋")[0] == {"place": "幸福里小区3栋", "area": "S1P2"}
    assert validate("place", "县医院对面")[0] == {"place": "县医院对面"}
    assert validate("place", "x") == ({"place": None}, [{"text": replies.PLACE_TOO_SHORT,
                                                         "buttons": [], "elements": [], "custom": {},
                                                         "template": None, "response": None,
                                                         "image": None, "attachment": None}])


def test_the_answer_to_the_place_question_is_kept_whole(chat):
    result, _ = validate("place", "幸福里小区", slots={"requested_slot": "place"})
    assert result == {"place": "幸福里小区", "area": "S1P2"}       # the text is the entity
    tk = tracker("在城关镇幸福里小区南门", intent="inform", slots={"requested_slot": "place"})
    result = report.ValidateReportForm().validate_place("幸福里小区", CollectingDispatcher(), tk, {})
    assert result == {"place": "城关镇幸福里小区南门", "area": "S1P2"}


@pytest.mark.parametrize("answer", ["对的", "是", "好的。", "不对"])
def test_yes_or_no_is_not_a_place(chat, answer):
    result, messages = validate("place", answer, slots={"requested_slot": "place"})
    assert result == {"place": None} and texts(messages) == [replies.PLACE_TOO_SHORT]


def test_event_time_accepts_not_remembering(chat):
    assert validate("event_time", "记不清了，反正好几天了")[0] == {"event_time": "记不清了"}
    assert validate("event_time", "上周三晚上")[0] == {"event_time": "上周三晚上"}


def test_the_answer_to_the_time_question_is_kept_whole(chat):
    tk = tracker("今年八月到十月", intent="inform", slots={"requested_slot": "event_time"})
    result = report.ValidateReportForm().validate_event_time("十月", CollectingDispatcher(), tk, {})
    assert result == {"event_time": "今年八月到十月"}


@pytest.mark.parametrize("value,expected", [
    ("13812345678", "13812345678"), ("我的电话是138 1234 5678", "13812345678"),
    ("0371-65432100", "0371-65432100"), ("不想留", "匿名"), ("匿名", "匿名")])
def test_contact_accepts_phones_and_refusals(chat, value, expected):
    assert validate("contact", value)[0] == {"contact": expected}


def test_contact_rejects_a_malformed_number(chat):
    result, messages = validate("contact", "123456")
    assert result == {"contact": None}
    assert texts(messages) == ["这个号码是6位数字，手机号应该是11位，请核对一下再发给我。"]
    result, messages = validate("contact", "电话是 12-34")
    assert result == {"contact": None} and texts(messages) == [replies.INVALID_PHONE]


def test_contact_asks_again_plainly_when_no_number_was_given(chat):
    result, messages = validate("contact", "就这几天晚上十点以后")
    assert result == {"contact": None} and texts(messages) == [replies.PHONE_PLEASE]


def test_ask_actions(chat):
    events, messages = run(report.ActionAskPlace(), tracker("x", slots={"kind": "errand"}))
    assert events == [] and texts(messages) == [replies.ASK_PLACE_ERRAND]
    events, messages = run(report.ActionAskContact(), tracker("x"))
    assert texts(messages) == [replies.ASK_CONTACT]
    assert messages[0]["buttons"] == [{"title": "不留电话，匿名反映", "payload": "/anonymous"}]
    assert texts(run(report.ActionAskDescription(), tracker("x"))[1]) == [replies.ASK_DESCRIPTION]
    assert texts(run(report.ActionAskEventTime(), tracker("x"))[1]) == [replies.ASK_EVENT_TIME]


# ------------------------------------------------------------------ read back, open, correct
FILLED = {"report_text": NOISE, "description": NOISE, "category": "env.noise", "kind": "demand",
          "place": "文化路28号", "area": "S1P1", "event_time": "每天半夜", "contact": "13812345678",
          "report_key": "m-1", "pending": "confirm_report"}


def test_read_back(chat):
    events, messages = run(report.ActionReadBack(), tracker("x", slots=FILLED))
    assert events == [SlotSet("pending", "confirm_report"), SlotSet("report_route", "wait")]
    assert messages[0]["text"] == (
        "请您核对一下登记内容：\n· 事项：楼下烧烤店每天半夜还很吵，吵得孩子睡不着\n"
        "· 分类：环境保护/噪声扰民\n· 地点：文化路28号\n· 时间：每天半夜\n· 联系方式：138****5678\n"
        "没问题的话请回复“确认”，我马上为您登记；哪一项不对，直接告诉我怎么改就行。")
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/correct"]


def test_read_back_names_the_other_matters_a_report_lists(chat, monkeypatch):
    """The Rasa server's model reads each listed matter; a server that does not answer
    leaves the read-back as it was."""
    from bot.nlu.rasa import HttpParser, ParserError

    listed = "我反映两个事，一是楼下烧烤店每天半夜还很吵，二是我家老人的低保申请三个月了没消息"
    slots = {**FILLED, "report_text": listed, "description": listed}
    cues = {"吵": "env.noise", "低保": "civil.subsistence"}

    def parse(self, texts):
        return [{"report_ranking": [{"code": next((c for w, c in cues.items() if w in t), "other.misc"),
                                     "confidence": 0.9}], "report_level1": None} for t in texts]

    monkeypatch.setattr(HttpParser, "parse", parse)
    report._parser.cache_clear()
    made = []
    monkeypatch.setattr(HttpParser, "close", lambda self: made.append("closed"))
    for _ in range(2):                      # one client for the action server's life
        _, messages = run(report.ActionReadBack(), tracker("x", slots=slots))
        assert "还提到了：低保申请" in messages[0]["text"] and "噪声扰民。" not in messages[0]["text"]
    assert report._parser.cache_info().misses == 1 and made == []

    def down(self, texts):
        raise ParserError("connection refused")

    monkeypatch.setattr(HttpParser, "parse", down)
    _, messages = run(report.ActionReadBack(), tracker("x", slots=slots))
    assert "还提到" not in messages[0]["text"] and messages[0]["text"].startswith("请您核对")


def test_open_case_gives_number_body_and_deadline(chat):
    events, messages = run(report.ActionOpenCase(), tracker("确认", intent="affirm", slots=FILLED))
    number = "20261123-0001"
    assert events == [SlotSet(name, None) for name in report.REPORT_SLOTS] + [
        SlotSet("case_number", number)]
    view = chat.cases.get(number)
    assert (view.category["code"], view.area["code"], view.channel, view.place) == \
        ("env.noise", "S1P1", "telegram", "文化路28号")
    assert view.text == NOISE + "（时间：每天半夜）"
    assert messages[0]["text"].startswith(f"已为您登记诉求，编号 {number}。\n由县生态环境分局办理，承诺 ")
    assert messages[0]["custom"] == {"case": {"number": number, "state": "assigned"}}
    assert chat.cases.owns(number, "telegram", "10001")


def test_open_case_twice_is_one_case(chat):
    first, _ = run(report.ActionOpenCase(), tracker("确认", intent="affirm", slots=FILLED))
    again, _ = run(report.ActionOpenCase(), tracker("确认", intent="affirm", slots=FILLED,
                                                   message_id="m-9"))
    assert first[-1] == again[-1] == SlotSet("case_number", "20261123-0001")
    assert len(chat.cases.list_cases()) == 1


def test_open_case_anonymous_keeps_no_phone(chat):
    slots = {**FILLED, "contact": "匿名", "contact_name": "王先生"}
    run(report.ActionOpenCase(), tracker("确认", intent="affirm", slots=slots))
    view = chat.cases.get("20261123-0001")
    assert view.contact is None and view.contact_name is None


def test_open_case_failure_keeps_what_was_said(chat, monkeypatch):
    def broken(request):
        raise RuntimeError("database is locked")
    monkeypatch.setattr(chat.cases, "open_case", broken)
    events, messages = run(report.ActionOpenCase(), tracker("确认", intent="affirm", slots=FILLED))
    assert events == [SlotSet("pending", "confirm_report"), SlotSet("report_route", "wait")]
    assert texts(messages) == [replies.open_failed()]


def test_correct_with_a_new_phone(chat):
    tk = tracker("手机号改成13987654321", intent="correct", slots=FILLED,
                 entities=[("phone", "13987654321")])
    events, messages = run(report.ActionCorrectReport(), tk)
    assert events == [SlotSet("contact", "13987654321"), SlotSet("pending", "confirm_report"),
                      SlotSet("report_route", "wait")]
    assert "139****4321" in messages[0]["text"]


def test_correct_place_in_words(chat):
    tk = tracker("地址不对，应该是人民路社区门口", intent="correct", slots=FILLED,
                 entities=[("community", "人民路社区")])
    events, _ = run(report.ActionCorrectReport(), tk)
    assert events == [SlotSet("place", "人民路社区门口"), SlotSet("area", "S1P3"),
                      SlotSet("pending", "confirm_report"), SlotSet("report_route", "wait")]


def test_correct_place_said_after_a_comma(chat):
    tk = tracker("不对，地址写错了，是城西开发区", intent="correct", slots=FILLED)
    events, messages = run(report.ActionCorrectReport(), tk)
    assert SlotSet("place", "城西开发区") in events
    assert SlotSet("report_route", "wait") in events and "地点：城西开发区" in messages[0]["text"]


def test_correct_field_without_value_asks_the_form_again(chat):
    events, messages = run(report.ActionCorrectReport(),
                           tracker("时间写错了", intent="correct", slots=FILLED))
    assert events == [SlotSet("event_time", None), SlotSet("pending", None),
                      SlotSet("report_route", "form")]
    assert messages == []


def test_correct_category_offers_the_alternatives(chat):
    slots = {**FILLED, "category_options": ["env.noise", "env.cooking_fume"]}
    events, messages = run(report.ActionCorrectReport(),
                           tracker("分类不对", intent="correct", slots=slots))
    assert events == [SlotSet("report_route", "wait")]
    assert messages[0]["buttons"] == [{"title": "环境保护/餐饮油烟",
                                       "payload": '/correct{"category": "env.cooking_fume"}'}]
    events, _ = run(report.ActionCorrectReport(), tracker(
        "/correct", intent="correct", slots=slots, entities=[("category", "env.cooking_fume")]))
    assert events == [SlotSet("category", "env.cooking_fume"), SlotSet("kind", "demand"),
                      SlotSet("pending", "confirm_report"), SlotSet("report_route", "wait")]


def test_correct_without_saying_what_asks_which(chat):
    events, messages = run(report.ActionCorrectReport(), tracker("不对", intent="deny", slots=FILLED))
    assert events == [SlotSet("report_route", "wait")]
    assert messages[0]["text"] == "您要修改哪一项？"
    assert len(messages[0]["buttons"]) == 5


def test_cancel_report(chat):
    events, messages = run(report.ActionCancelReport(), tracker("算了不报了", intent="withdraw",
                                                                slots=FILLED))
    assert events == [SlotSet(name, None) for name in report.REPORT_SLOTS]
    assert texts(messages) == [replies.REPORT_CANCELLED]


def test_anonymous_while_confirming(chat):
    events, messages = run(report.ActionCorrectReport(),
                           tracker("电话还是不留了", intent="anonymous", slots=FILLED))
    assert events == [SlotSet("contact", "匿名"), SlotSet("pending", "confirm_report"),
                      SlotSet("report_route", "wait")]
    assert "联系方式：匿名" in messages[0]["text"]


def test_capture_latin_or_emoji_only_asks_what_is_wrong(chat):
    for text in ("qwe zxc", "😀😀😀", "12345"):
        events, _ = run(report.ActionCaptureReport(), tracker(text, ranking=[("market.counterfeit", 0.8)]))
        assert SlotSet("report_route", "describe") in events


def test_place_must_say_something_real(chat):
    assert validate("place", "<script>alert(1)</script>")[0] == {"place": None}
    assert validate("place", "<b>幸福里</b>小区")[0] == {"place": "幸福里小区", "area": "S1P2"}


# ------------------------------------------------------------------ the resident's words are kept
@pytest.mark.parametrize("value", ["１３９１２３４５６７８", "我手机是１３９ １２３４ ５６７８", "+86 139-1234-5678"])
def test_contact_in_full_width_or_spaced_digits_is_accepted(chat, value):
    assert validate("contact", value) == ({"contact": "13912345678"}, [])


@pytest.mark.parametrize("value, digits", [("139123456789", 12), ("1391234567890123", 16),
                                           ("１３９１２３４５６７８９", 12)])
def test_a_number_too_long_is_refused_with_the_reason_never_cut(chat, value, digits):
    result, messages = validate("contact", value)
    assert result == {"contact": None}
    assert texts(messages) == [f"这个号码是{digits}位数字，手机号应该是11位，请核对一下再发给我。"]


@pytest.mark.parametrize("slot", ["place", "event_time"])
def test_a_phone_given_for_the_place_or_time_becomes_the_contact(chat, slot):
    result, messages = validate(slot, "13912345678", slots={"requested_slot": slot})
    assert result == {slot: None, "contact": "13912345678"}
    assert texts(messages) == [replies.PHONE_KEPT_AS_CONTACT]
    result, messages = validate(slot, "我电话是139 1234 5678", slots={"requested_slot": slot})
    assert result == {slot: None, "contact": "13912345678"}


def test_a_phone_for_the_place_when_the_contact_is_known_is_not_the_place(chat):
    result, messages = validate("place", "13700001111",
                                slots={"requested_slot": "place", "contact": "13912345678"})
    assert result == {"place": None} and texts(messages) == [replies.PHONE_NOT_AN_ANSWER]


def test_a_place_with_a_phone_in_it_is_still_a_place(chat):
    said = "文化路28号，有事打13912345678"
    result, _ = validate("place", said, slots={"requested_slot": "place"})
    assert result["place"] == said


@pytest.mark.parametrize("slot, limit", [("place", 200), ("event_time", 100), ("description", 4000)])
def test_a_field_too_long_is_refused_when_given_naming_the_field(chat, slot, limit):
    value = "幸福里小区" * (limit // 5 + 1)
    result, messages = validate(slot, value, slots={"requested_slot": slot})
    assert result == {slot: None}
    assert texts(messages) == [replies.too_long(slot, len(value), limit)]
    assert texts(messages)[0].startswith(replies.FIELD_LABELS[slot] + "写得太长了")


def test_a_correction_too_long_is_refused_naming_the_field(chat):
    place = "城西开发区" * 600          # 3,000 characters
    tk = tracker(f"地址不对，应该是{place}", intent="correct", slots=FILLED)
    events, messages = run(report.ActionCorrectReport(), tk)
    assert events == [SlotSet("report_route", "wait")]       # nothing changed, still pending
    assert texts(messages) == [replies.too_long("place", len(place), 200)]
    assert texts(messages)[0].startswith("地点写得太长了（3000字，最多200字）")


def test_a_correction_with_a_number_too_long_is_refused(chat):
    tk = tracker("电话改成139123456789", intent="correct", slots=FILLED)
    events, messages = run(report.ActionCorrectReport(), tk)
    assert events == [SlotSet("report_route", "wait")]
    assert texts(messages) == ["这个号码是12位数字，手机号应该是11位，请核对一下再发给我。"]


def test_capture_takes_the_phone_inside_a_complaint_as_the_contact(chat):
    text = "我电话１３９１２３４５６７８，楼下烧烤店天天半夜吵"
    events, _ = run(report.ActionCaptureReport(), tracker(text, ranking=CLEAR))
    assert SlotSet("contact", "13912345678") in events
    assert SlotSet("description", text) in events and SlotSet("report_route", "form") in events


def test_a_phone_and_a_complaint_read_as_a_status_question_is_a_report(chat):
    from rasa_sdk.events import FollowupAction
    from actions import status

    text = "我电话13912345678，楼下很吵"
    events, messages = run(status.ActionCaseStatus(), tracker(
        text, intent="ask_status", ranking=CLEAR, entities=[("phone", "13912345678")]))
    assert SlotSet("report_text", text) in events and SlotSet("contact", "13912345678") in events
    assert SlotSet("report_route", "form") in events
    assert events[-1] == FollowupAction("report_form")
    assert texts(messages) == ["好的，您反映的是“环境保护／噪声扰民”方面的问题，我来帮您登记。"]


@pytest.mark.parametrize("text", ["我电话13912345678，我的诉求办得怎么样了", "13912345678"])
def test_a_phone_with_a_status_question_stays_a_status_question(chat, text):
    from actions import status

    events, messages = run(status.ActionCaseStatus(), tracker(text, intent="ask_status"))
    assert texts(messages) == [status.NONE_YET] and events == []


def test_open_failure_names_the_field(chat, monkeypatch):
    from bot.cases.errors import InvalidInput

    def refuse(request):
        raise InvalidInput("place is longer than 200 characters", "内容过长（超过200字），请精简后再提交")
    monkeypatch.setattr(chat.cases, "open_case", refuse)
    _, messages = run(report.ActionOpenCase(), tracker("确认", intent="affirm", slots=FILLED))
    assert texts(messages) == [replies.open_failed("地点内容过长（超过200字），请精简后再提交")]


def test_a_phone_and_a_complaint_read_as_information_is_a_report(chat):
    from rasa_sdk.events import FollowupAction
    from actions import followup

    text = "我电话13912345678，楼下很吵"
    events, _ = run(followup.ActionInformNoContext(), tracker(text, intent="inform", ranking=CLEAR))
    assert SlotSet("contact", "13912345678") in events and SlotSet("report_text", text) in events
    assert events[-1] == FollowupAction("report_form")


def test_a_correction_read_as_a_new_report_while_confirming_corrects(chat):
    from rasa_sdk.events import FollowupAction

    place = "城西开发区" * 600
    events, messages = run(report.ActionCaptureReport(), tracker(
        f"地址不对，应该是{place}", slots=FILLED, ranking=CLEAR))
    assert events == [SlotSet("report_route", "wait"), FollowupAction("action_listen")]
    assert texts(messages) == [replies.too_long("place", len(place), 200)]
    events, messages = run(report.ActionCaptureReport(), tracker(
        "地址不对，应该是城西开发区", slots=FILLED, ranking=CLEAR))
    assert SlotSet("place", "城西开发区") in events and events[-1] == FollowupAction("action_listen")


def test_not_x_but_y_corrects_the_field_that_held_x(chat):
    place = FILLED["place"]
    events, messages = run(report.ActionCaptureReport(), tracker(
        f"不是{place}，是城西开发区3栋", slots=FILLED, ranking=CLEAR))
    assert SlotSet("place", "城西开发区3栋") in events
    assert not any(e.get("name") == "description" for e in events if isinstance(e, dict))
    assert "事项：" + FILLED["description"] in messages[0]["text"]


def test_not_x_but_a_3000_character_y_is_refused_naming_the_field_and_keeps_the_matter(chat):
    from rasa_sdk.events import FollowupAction

    long_place = "幸福小区" * 750
    events, messages = run(report.ActionCaptureReport(), tracker(
        f"不是{FILLED['place']}，是{long_place}", slots=FILLED, ranking=CLEAR))
    assert events == [SlotSet("report_route", "wait"), FollowupAction("action_listen")]
    assert texts(messages) == [replies.too_long("place", len(long_place), 200)]


def test_not_x_but_y_naming_nothing_on_the_read_back_is_not_a_correction():
    assert report.negated_field(FILLED, "不是我说你们，是真的没人管") is None
