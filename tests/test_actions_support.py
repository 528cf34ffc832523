"""Errands, emergencies, hand-off, fallback — and bad input that must never crash an action."""
from __future__ import annotations

import pytest
from rasa_sdk.events import FollowupAction, SlotSet, UserUtteranceReverted

from actions import emergency, errand, report, status, support
from actions import texts as texts_module
from tests.chat_helpers import chat, run, texts, tracker  # noqa: F401
from tests.helpers import open_case


def test_errand_guide_from_the_catalog(chat):
    events, messages = run(errand.ActionErrandInfo(), tracker("办居住证要带什么",
                                                             intent="ask_requirements"))
    assert events == [SlotSet("errand", "residence_permit"),
                      SlotSet("category", "security.residence_permit"), SlotSet("kind", "errand"),
                      SlotSet("report_text", "办居住证要带什么"), SlotSet("pending", "offer_errand")]
    text = messages[0]["text"]
    assert text.startswith("居住证办理，一般需要准备：\n1. 本人居民身份证原件")
    assert "本人居民身份证原件" in text and "居住地派出所户籍窗口" in text and "15个工作日" in text
    assert text.endswith("要帮您登记代办吗？")
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]


def test_errand_guide_falls_back_to_the_classified_category(chat):
    events, _ = run(errand.ActionErrandInfo(), tracker(
        "那个补助要准备啥", intent="ask_requirements", ranking=[("civil.subsistence", 0.7)]))
    assert SlotSet("errand", "subsistence") in events


def test_errand_unknown(chat):
    events, messages = run(errand.ActionErrandInfo(), tracker("办游艇驾照要什么",
                                                             intent="ask_requirements"))
    assert events == [SlotSet("errand", None), SlotSet("category", "gov.service"),
                      SlotSet("kind", "errand"), SlotSet("report_text", "办游艇驾照要什么"),
                      SlotSet("pending", "offer_errand")]
    assert texts(messages) == [errand.UNKNOWN]


@pytest.mark.parametrize("confidence, category", [(0.8, "education.enrollment"),
                                                  (0.2, "gov.service")])
def test_errand_without_a_guide_goes_to_the_body_of_its_category(chat, confidence, category):
    events, messages = run(errand.ActionErrandInfo(), tracker(
        "孩子转学要办什么手续", intent="ask_requirements",
        ranking=[("education.enrollment", confidence), ("gov.service", 0.1)]))
    assert SlotSet("errand", None) in events and SlotSet("category", category) in events
    assert texts(messages) == [errand.UNKNOWN]


def test_start_errand(chat):
    events, messages = run(errand.ActionStartErrand(), tracker(
        "好的帮我办", intent="affirm", slots={"errand": "residence_permit", "pending": "offer_errand"}))
    assert events == [SlotSet("description", "申请代办：居住证办理"), SlotSet("kind", "errand"),
                      SlotSet("report_key", "m-1"), SlotSet("pending", None),
                      SlotSet("report_route", "form")]
    assert texts(messages) == ["好的，我来帮您登记“居住证办理”的代办申请。"]


def test_emergency_tells_the_number_and_records_a_referred_case(chat):
    text = "楼道里着火了，好大的烟"
    events, messages = run(emergency.ActionEmergency(), tracker(text, slots={"report_text": text}))
    number = "20261123-0001"
    assert events == [SlotSet("case_number", number), SlotSet("report_route", None),
                      SlotSet("report_text", None), SlotSet("category", None), SlotSet("kind", None),
                      SlotSet("category_options", None), SlotSet("report_key", None)]
    assert messages[0]["text"].startswith("情况紧急！请立即拨打 119（消防救援电话）！")
    assert number in messages[1]["text"]
    view = chat.cases.get(number)
    assert (view.state, view.category["code"], view.channel) == ("referred", "security.emergency", "telegram")


def test_the_messages_of_one_emergency_make_one_record_a_later_one_its_own(chat, clock):
    first, _ = run(emergency.ActionEmergency(), tracker("家里着火了快来人啊", message_id="m-1"))
    number = dict((e["name"], e["value"]) for e in first if e.get("event") == "slot")["case_number"]
    clock.advance(minutes=2)
    again, messages = run(emergency.ActionEmergency(), tracker("火越来越大了", message_id="m-2"))
    assert "119" in messages[0]["text"] and number in messages[1]["text"]
    assert SlotSet("case_number", number) in again
    assert [v.number for v in chat.cases.list_cases()] == [number]
    assert chat.cases.get(number).events[-1].internal_note == "群众补充（紧急）：火越来越大了"
    notes = len(chat.cases.get(number).events)
    for retried in ("家里着火了快来人啊", "火越来越大了"):       # a retried action call, either message
        run(emergency.ActionEmergency(), tracker(retried, message_id="m-1"))
    assert len(chat.cases.get(number).events) == notes
    clock.advance(hours=2)                  # another day's fire is another record
    later, _ = run(emergency.ActionEmergency(), tracker("楼下又着火了", message_id="m-3"))
    assert len(chat.cases.list_cases()) == 2


def test_emergency_with_two_numbers(chat):
    _, messages = run(emergency.ActionEmergency(), tracker("路口车祸了，有人受伤流了好多血"))
    assert messages[0]["text"].splitlines()[:2] == ["情况紧急！请立即拨打 120（急救电话）！",
                                                    "如有需要，请同时拨打 122（交通事故报警电话）。"]


def test_emergency_still_tells_the_number_when_the_store_fails(chat, monkeypatch):
    monkeypatch.setattr(chat.cases, "open_case", lambda request: 1 / 0)
    events, messages = run(emergency.ActionEmergency(), tracker("有人持刀伤人"))
    assert events == [SlotSet("report_route", None)]
    assert texts(messages) == [messages[0]["text"]] and "110" in messages[0]["text"]


def test_handoff_notes_the_open_case(chat):
    number = open_case(chat.cases, channel="telegram", address="10001")
    events, messages = run(support.ActionHandoff(), tracker("转人工", intent="human_handoff"))
    assert events == []
    assert texts(messages) == [texts_module.handoff(number)] and number in texts(messages)[0]
    assert messages[0]["custom"] == {"handoff": True, "case": number}
    assert chat.cases.get(number).events[-1].internal_note == "群众在对话中要求转人工"


def test_handoff_without_an_open_case_opens_one_for_an_agent(chat):
    said = [{"event": "user", "text": "我家的事说不清楚", "parse_data": {}},
            {"event": "bot", "text": "抱歉，我没太明白您的意思。"}]
    events, messages = run(support.ActionHandoff(), tracker(
        "我要找人工", intent="human_handoff", events=said))
    [view] = chat.cases.list_cases(channel="telegram", address="10001")
    assert texts(messages) == [texts_module.handoff(view.number)]
    assert messages[0]["custom"] == {"handoff": True, "case": view.number}
    assert view.category["code"] == "gov.service" and view.state in {"received", "assigned"}
    case = chat.cases.get(view.number)
    assert case.text == "群众要求人工服务。对话中最近说的：\n我家的事说不清楚\n我要找人工"
    # the same message handled twice (a retry) opens nothing new
    run(support.ActionHandoff(), tracker("我要找人工", intent="human_handoff", events=said))
    assert len(chat.cases.list_cases(channel="telegram", address="10001")) == 1


def test_handoff_when_the_case_store_fails_says_so(chat, monkeypatch):
    monkeypatch.setattr(chat.cases, "open_case", lambda *a, **k: (_ for _ in ()).throw(OSError))
    _, messages = run(support.ActionHandoff(), tracker("转人工", intent="human_handoff"))
    assert texts(messages) == [texts_module.handoff(None)] and "没登记上" in texts(messages)[0]
    assert messages[0]["custom"] == {"handoff": True, "case": None}   # no hand-off is opened


def fallback_events(n: int) -> list[dict]:
    return [{"event": "user", "text": "x", "parse_data": {"intent": {"name": "nlu_fallback"}}}] * n


def test_fallback_offers_a_human_but_never_takes_a_miss_as_consent(chat):
    action = support.ActionFallback()
    events, messages = run(action, tracker("啊吧啊吧", intent="nlu_fallback"))
    assert events == [UserUtteranceReverted(), FollowupAction("action_listen")]
    assert texts(messages) == [support.NOT_UNDERSTOOD]
    second = tracker("啊吧啊吧", intent="nlu_fallback", events=fallback_events(1))
    events, messages = run(action, second)
    assert texts(messages) == [support.STILL_NOT]
    assert messages[0]["buttons"] == [{"title": "转人工", "payload": "/human_handoff"}]
    for misses in (2, 5):          # "🕐" after the offer is a miss, not a yes: no case opened
        later = tracker("🕐", intent="nlu_fallback", events=fallback_events(misses))
        _, messages = run(action, later)
        assert texts(messages) == [support.STILL_NOT]
        assert messages[0]["buttons"] == [{"title": "转人工", "payload": "/human_handoff"}]
    assert chat.cases.list_cases(channel="telegram", address="10001") == []


def test_fallback_on_traditional_characters_says_so(chat):
    _, messages = run(support.ActionFallback(), tracker("請問這個點樣處理", intent="nlu_fallback"))
    assert texts(messages) == [support.TRADITIONAL_HINT]


def test_fallback_catches_an_emergency(chat):
    events, messages = run(support.ActionFallback(), tracker("救命！！", intent="nlu_fallback"))
    assert events[0] == UserUtteranceReverted() and events[-1] == FollowupAction("action_listen")
    assert "110" in messages[0]["text"]
    assert chat.cases.get("20261123-0001").state == "referred"


# ------------------------------------------------------------------ bad input
BAD = ["", "   ", "字" * 20_000, "😀😀😀", "hello there", "樓下燒烤店半夜很吵，噪音擾民",
       "<script>alert(1)</script>", "**加粗** [链接](http://x)", "\x00\x01控制字符",
       "20261399-99999", "SF2026-11-22", "1234567"]


@pytest.mark.parametrize("text", BAD, ids=range(len(BAD)))
def test_bad_input_never_crashes(chat, text):
    ranking = [("other.misc", 0.2)]
    for action, intent in ((report.ActionCaptureReport(), "report"),
                           (status.ActionCaseStatus(), "ask_status"),
                           (support.ActionFallback(), "nlu_fallback"),
                           (errand.ActionErrandInfo(), "ask_requirements")):
        events, messages = run(action, tracker(text, intent=intent, ranking=ranking))
        assert isinstance(events, list)
        for message in messages:
            assert message.get("text") or message.get("response")


def test_huge_report_opens_a_case_with_a_bounded_text(chat):
    text = "楼下噪音" * 5000
    events, _ = run(report.ActionCaptureReport(), tracker(text, ranking=[("env.noise", 0.9)]))
    captured = {e["name"]: e["value"] for e in events}
    slots = {**captured, "place": "文化路", "event_time": "每天", "contact": "匿名"}
    events, messages = run(report.ActionOpenCase(), tracker("确认", intent="affirm", slots=slots))
    assert events[-1] == SlotSet("case_number", "20261123-0001")
    assert len(chat.cases.get("20261123-0001").text) <= 5000


def test_fallback_on_a_bare_wish_to_complain_asks_what_it_is(chat):
    events, messages = run(support.ActionFallback(), tracker("我要投诉", intent="nlu_fallback"))
    assert events == [UserUtteranceReverted(), FollowupAction("action_listen")]
    from actions import texts as replies
    assert texts(messages) == [replies.ASK_DESCRIPTION]
