"""Safety first, whatever the dialogue state: the first look at every message and its answer.

The safety rules themselves (bot/nlu/urgency.py, data/safety.yml) are tested elsewhere; here a
stand-in verdict drives the wiring, and one test runs the probe's messages through the real
rules.
"""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from rasa_sdk.events import SlotSet

from actions import followup, intercept, report, texts as replies
from actions.language import CANTONESE, ENGLISH, TRADITIONAL, language_of
from bot.nlu import urgency as urgency_rules
from tests.chat_helpers import chat, run, texts, tracker  # noqa: F401

FIRE = "着火了"
CRISIS = "我不想活了，欠薪三个月"
THREAT = "再不给我解决，我就去把你们办公室炸了"
RATING = [{"event": "bot", "text": replies.ASK_SOLVED}]      # the rating question was asked


def verdict(level: str, *hotlines: str, concerns: tuple[str, ...] = ()):
    return SimpleNamespace(level=level, hotlines=hotlines, reason="测试", concerns=concerns)


@pytest.fixture
def rules(monkeypatch):
    """Stand-in safety rules: {text: verdict}; anything else is normal."""
    table: dict[str, SimpleNamespace] = {}
    monkeypatch.setattr(urgency_rules, "assess",
                        lambda text: table.get(text, verdict("normal")))
    return table


def cases_of(chat):
    return chat.cases.list_cases(channel="telegram", address="10001")


def _hours(start: str, end: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(end.rstrip("Z")) - datetime.fromisoformat(start.rstrip("Z"))).total_seconds() / 3600


# ------------------------------------------------------------------ the first look
@pytest.mark.parametrize("state", [
    {"slots": {}, "intent": "rate_unsolved", "events": RATING},                    # rating
    {"slots": {"requested_slot": "place"}, "intent": "inform", "active_loop": "report_form"},
    {"slots": {"pending": "confirm_report"}, "intent": "affirm"},
])
def test_first_look_flags_danger_in_every_state(chat, rules, state):
    rules[FIRE] = verdict("emergency", "119")
    rules[CRISIS] = verdict("crisis", "12356")
    rules[THREAT] = verdict("threat", "110")
    look = intercept.ActionFirstLook()
    for text, level in ((FIRE, "emergency"), (CRISIS, "crisis"), (THREAT, "threat")):
        events, messages = run(look, tracker(text, **state))
        assert events == [SlotSet("intercept", level)] and messages == []


def test_first_look_reads_traditional_and_full_width_text_in_simplified(chat, rules):
    rules["着火了！"] = verdict("emergency", "119")
    events, _ = run(intercept.ActionFirstLook(), tracker("著火了！", intent="nlu_fallback"))
    assert events == [SlotSet("intercept", "emergency")]


def test_first_look_leaves_ordinary_messages_alone(chat, rules):
    look = intercept.ActionFirstLook()
    assert run(look, tracker("楼下烧烤店天天半夜吵"))[0] == []
    assert run(look, tracker("/affirm", intent="affirm", slots={"pending": "confirm_report"}))[0] == []
    # a flag left from the turn before is cleared by the next ordinary message
    assert run(look, tracker("好的", intent="affirm", slots={"intercept": "language"}))[0] == [
        SlotSet("intercept", None)]


def test_first_look_failure_never_blocks_the_dialogue(chat, monkeypatch):
    def broken(text):
        raise RuntimeError("rules file unreadable")
    monkeypatch.setattr(urgency_rules, "assess", broken)
    assert run(intercept.ActionFirstLook(), tracker(FIRE))[0] == []


@pytest.mark.parametrize("text, pending, intent", [
    ("🕐", None, "human_handoff"), ("👍", "confirm_report", "affirm"),
    ("🙏🙏", "confirm_withdraw", "affirm"), ("👎", "offer_errand", "deny")])
def test_an_emoji_is_never_consent(chat, rules, text, pending, intent):
    events, _ = run(intercept.ActionFirstLook(),
                    tracker(text, intent=intent, slots={"pending": pending}))
    assert events == [SlotSet("intercept", "consent")]
    events, messages = run(intercept.ActionIntercept(), tracker(
        text, intent=intent, slots={"pending": pending, "intercept": "consent"}))
    assert events == [SlotSet("intercept", None)]
    question, buttons = replies.consent_again(pending)
    assert texts(messages) == [question] and messages[0]["buttons"] == buttons
    assert cases_of(chat) == []


def test_a_yes_in_words_is_consent(chat, rules):
    events, _ = run(intercept.ActionFirstLook(),
                    tracker("好的👍", intent="affirm", slots={"pending": "confirm_report"}))
    assert events == []


# ------------------------------------------------------------------ answers
def test_fire_in_the_middle_of_a_rating_gets_119_and_rates_nothing(chat, rules):
    rules[FIRE] = verdict("emergency", "119")
    events, messages = run(intercept.ActionIntercept(), tracker(
        FIRE, intent="rate_unsolved", slots={"intercept": "emergency"}, events=RATING))
    [case] = cases_of(chat)
    assert events == [SlotSet("intercept", None), SlotSet("case_number", case.number)]
    assert texts(messages)[0].startswith("情况紧急！请立即拨打 119（消防救援电话）！")
    assert texts(messages)[1] == replies.emergency_recorded(case.number)
    assert case.category["code"] == "security.emergency" and case.state == "referred"
    assert not any(e.action == "rate" for e in case.events)


def test_emergency_while_confirming_keeps_the_report_pending(chat, rules):
    rules["🔥着火了🔥"] = verdict("emergency", "119")
    events, messages = run(intercept.ActionIntercept(), tracker(
        "🔥着火了🔥", intent="affirm", slots={"intercept": "emergency", "pending": "confirm_report",
                                            "case_number": None}))
    assert events == [SlotSet("intercept", None)]          # case_number is not the report's
    assert "119" in texts(messages)[0]
    assert texts(messages)[-1] == replies.STILL_PENDING["confirm_report"]
    [case] = cases_of(chat)
    assert case.state == "referred"


def test_crisis_gets_the_hotline_a_person_and_an_urgent_case(chat, rules):
    rules[CRISIS] = verdict("crisis", "12356")
    events, messages = run(intercept.ActionIntercept(), tracker(
        CRISIS, intent="anonymous", slots={"intercept": "crisis"}))
    [case] = cases_of(chat)
    assert events == [SlotSet("intercept", None), SlotSet("case_number", case.number)]
    assert texts(messages) == [replies.crisis("12356", case.number)]
    assert "12356" in texts(messages)[0] and "匿名" not in texts(messages)[0]
    assert messages[0]["buttons"] == [{"title": "转人工", "payload": "/human_handoff"}]
    full = chat.cases.get(case.number)
    assert full.summary == replies.CRISIS_SUMMARY
    assert "欠薪三个月" in full.text                       # the resident's words are kept
    # urgent as an emergency (issue 15: it was 政务服务 with six days), followed up, not referred
    assert full.category["code"] == "security.emergency" and full.state == "assigned"
    assert full.body["name"] == "县卫生健康委员会"
    assert full.sign_due_at and _hours(full.created_at, full.due_at) <= 2
    [note] = [e for e in full.events if e.action == "note"]
    assert note.internal_note.startswith("【紧急·心理危机】") and "12356" in note.internal_note


def test_crisis_stops_the_form_and_keeps_what_it_had(chat, rules):
    from rasa_sdk.events import ActiveLoop

    rules["我真的撑不下去了"] = verdict("crisis", "12356")
    events, messages = run(intercept.ActionIntercept(), tracker(
        "我真的撑不下去了", intent="inform", active_loop="report_form",
        slots={"intercept": "crisis", "report_text": "老板拖欠工资半年", "requested_slot": "place"}))
    [case] = cases_of(chat)
    assert events == [SlotSet("intercept", None), ActiveLoop(None), SlotSet("requested_slot", None)]
    assert "老板拖欠工资半年" in chat.cases.get(case.number).text
    assert texts(messages) == [replies.crisis("12356", case.number)]


def test_self_harm_under_way_gets_120_the_crisis_line_and_one_record(chat, rules):
    rules["我刚才又割腕了，血止不住"] = verdict("emergency", "120", "12356", concerns=("self_harm",))
    events, messages = run(intercept.ActionIntercept(), tracker(
        "我刚才又割腕了，血止不住", slots={"intercept": "emergency"}))
    assert "120" in texts(messages)[0]
    [case] = cases_of(chat)                    # issue 15: it was a referred case and a crisis case
    assert texts(messages)[1:] == [replies.crisis("12356", case.number)]
    assert events[-1] == SlotSet("case_number", case.number)
    full = chat.cases.get(case.number)
    assert full.state == "assigned" and full.body["name"] == "县卫生健康委员会"
    [note] = [e.internal_note for e in full.events if e.action == "note"]
    assert note.startswith("【紧急·心理危机】") and "已告知群众立即拨打120、12356" in note


def test_the_messages_of_one_crisis_make_one_record(chat, rules, clock):
    rules["我不想活了"] = verdict("crisis", "12356")
    rules["血止不住了"] = verdict("emergency", "120")
    rules["我还是想死"] = verdict("crisis", "12356")
    for text, kind, key in (("我不想活了", "crisis", "m-1"), ("血止不住了", "emergency", "m-2"),
                            ("我还是想死", "crisis", "m-3")):
        _, messages = run(intercept.ActionIntercept(), tracker(
            text, slots={"intercept": kind}, message_id=key))
    [case] = cases_of(chat)
    full = chat.cases.get(case.number)
    assert full.state == "assigned"                       # an emergency joining it does not refer it
    noted = [e.internal_note for e in full.events if e.action == "note"]
    assert "群众补充（紧急）：血止不住了" in noted and "群众补充（紧急）：我还是想死" in noted
    assert len([n for n in noted if n.startswith("【紧急·心理危机】")]) == 1


def test_a_crisis_after_a_referred_fire_gets_its_own_record(chat, rules):
    rules[FIRE] = verdict("emergency", "119")
    rules["我不想活了"] = verdict("crisis", "12356")
    run(intercept.ActionIntercept(), tracker(FIRE, slots={"intercept": "emergency"}, message_id="m-1"))
    run(intercept.ActionIntercept(), tracker("我不想活了", slots={"intercept": "crisis"}, message_id="m-2"))
    assert sorted(c.state for c in cases_of(chat)) == ["assigned", "referred"]


def test_self_harm_said_as_a_threat_gets_the_crisis_reply_and_the_flag(chat, rules):
    text = "讨了两年工钱讨不到，我真想一头撞死在劳动局门口"
    rules[text] = verdict("threat", "110", "12356", concerns=("self_harm", "threat"))
    _, messages = run(intercept.ActionIntercept(), tracker(text, slots={"intercept": "threat"}))
    codes = {c.category["code"]: c.number for c in cases_of(chat)}
    assert set(codes) == {"security.emergency", "security.public_order"}
    assert texts(messages) == [replies.crisis("12356", codes["security.emergency"])]


def test_a_threat_under_way_gets_the_number_to_call_and_the_flag(chat, rules):
    text = "再敢欺负我儿子，我就去学校把那个老师脑袋开了"
    rules[text] = verdict("emergency", "110", concerns=("threat",))
    _, messages = run(intercept.ActionIntercept(), tracker(
        text, active_loop="report_form", slots={"intercept": "emergency", "requested_slot": "place"}))
    assert texts(messages)[0].startswith("情况紧急！请立即拨打 110")
    flagged = [c for c in cases_of(chat) if c.category["code"] == "security.public_order"]
    assert len(flagged) == 1 and texts(messages)[-1] == replies.threat(flagged[0].number)


def test_threat_is_referred_to_110_and_flagged_never_offered_anonymity(chat, rules):
    rules[THREAT] = verdict("threat", "110")
    events, messages = run(intercept.ActionIntercept(), tracker(
        THREAT, intent="anonymous", slots={"intercept": "threat"}))
    [case] = cases_of(chat)
    assert events == [SlotSet("intercept", None), SlotSet("case_number", case.number)]
    assert texts(messages) == [replies.threat(case.number)]
    assert "110" in texts(messages)[0] and "匿名" not in texts(messages)[0]
    full = chat.cases.get(case.number)
    assert full.category["code"] == "security.public_order"
    assert any(e.action == "note" and e.internal_note.startswith("【提请督办关注】")
               for e in full.events)


def test_the_case_store_down_still_gives_the_number_to_call(chat, rules, monkeypatch):
    rules[THREAT] = verdict("threat", "110")
    monkeypatch.setattr(chat.cases, "open_case", lambda *a, **k: (_ for _ in ()).throw(OSError))
    events, messages = run(intercept.ActionIntercept(), tracker(
        THREAT, slots={"intercept": "threat"}))
    assert events == [SlotSet("intercept", None)]
    assert texts(messages) == [replies.threat(None)] and "110" in texts(messages)[0]


def test_a_retried_turn_opens_and_flags_one_case(chat, rules):
    rules[CRISIS] = verdict("crisis", "12356")
    for _ in range(2):
        run(intercept.ActionIntercept(), tracker(CRISIS, slots={"intercept": "crisis"}))
    [case] = cases_of(chat)
    assert len([e for e in chat.cases.get(case.number).events if e.action == "note"]) == 1


@pytest.mark.parametrize("text, reply", [
    ("Hello, the water in my building has been cut off for two days", replies.ONLY_MANDARIN_EN),
    ("help", replies.ONLY_MANDARIN_EN),
    ("我哋呢度冇水冇電成日喇", replies.ONLY_MANDARIN),
    ("樓下啲人成晚嘈到我瞓唔著", replies.ONLY_MANDARIN)])
def test_english_and_cantonese_get_an_honest_reply_and_a_person(chat, rules, text, reply):
    events, _ = run(intercept.ActionFirstLook(), tracker(text, intent="nlu_fallback"))
    assert events == [SlotSet("intercept", "language")]
    events, messages = run(intercept.ActionIntercept(), tracker(
        text, intent="nlu_fallback", slots={"intercept": "language"}))
    assert events == [SlotSet("intercept", None)]
    assert texts(messages) == [reply] and "普通话" in reply
    assert messages[0]["buttons"] == [{"title": "转人工", "payload": "/human_handoff"}]


@pytest.mark.parametrize("text, language", [
    ("The street light is broken", ENGLISH), ("他说冇人理", None), ("佢哋話冇人理", CANTONESE),
    ("樓下燒烤店天天半夜吵", TRADITIONAL), ("楼下烧烤店天天半夜吵", None), ("yyds", None),
    ("OK", None), ("13912345678", None), ("20261122-0007", None), ("👍", None),
    ("你哋幾點開門呀？我想問下點樣辦居住證", CANTONESE), ("我想问一下几点开门", None),
    ("我的wifi坏了", None)])
def test_language_of(text, language):
    assert language_of(text) == language


# ------------------------------------------------------------------ the dialogue goes on after
def test_an_active_form_asks_its_question_again(chat):
    said = [{"event": "slot", "name": "description", "value": "路灯坏了"},
            {"event": "user", "text": "着火了"},
            {"event": "slot", "name": "place", "value": "着火了"},
            {"event": "action", "name": "action_intercept"},
            {"event": "slot", "name": "intercept", "value": None}]
    tk = tracker("着火了", intent="inform", active_loop="report_form",
                 slots={"requested_slot": "place", "place": "着火了", "description": "路灯坏了"})
    tk.events = said
    events = asyncio.run(report.ValidateReportForm().run(None, tk, {"slots": {}, "forms": {}}))
    assert events == [SlotSet("place", None)]


def test_a_detail_after_an_intercepted_emergency_joins_its_case(chat, rules):
    rules[FIRE] = verdict("emergency", "119")
    events, _ = run(intercept.ActionIntercept(), tracker(FIRE, slots={"intercept": "emergency"}))
    number = events[-1]["value"]
    history = [{"event": "action", "name": "action_intercept"},
               {"event": "slot", "name": "intercept", "value": None},
               {"event": "slot", "name": "case_number", "value": number},
               {"event": "action", "name": "action_listen"}]
    _, messages = run(followup.ActionInformNoContext(), tracker(
        "在文化路28号", intent="inform", slots={"case_number": number}, events=history))
    assert texts(messages) == [replies.detail_added(number, referred=True)]
    # after a language notice (no case recorded) a detail is not put on an older case
    history = [{"event": "action", "name": "action_intercept"},
               {"event": "slot", "name": "intercept", "value": None},
               {"event": "action", "name": "action_listen"}]
    _, messages = run(followup.ActionInformNoContext(), tracker(
        "在文化路28号", intent="inform", slots={"case_number": number}, events=history))
    assert texts(messages) == [replies.INFORM_NO_CONTEXT]


# ------------------------------------------------------------------ the real safety rules
@pytest.mark.parametrize("text, state, level", [
    ("着火了", {"intent": "rate_unsolved", "events": RATING}, "emergency"),
    ("🔥🔥着火了", {"intent": "rate_solved", "events": RATING}, "emergency"),
    ("我不想活了，欠薪三个月", {"intent": "anonymous"}, "crisis"),
    ("你们再不管，我就去把你们办公室炸了", {"intent": "anonymous"}, "threat"),
])
def test_the_probe_messages_with_the_real_rules(chat, text, state, level):
    assert run(intercept.ActionFirstLook(), tracker(text, **state))[0] == [SlotSet("intercept", level)]


def test_an_emoji_misread_as_anything_while_confirming_is_not_consent(chat, rules):
    events, _ = run(intercept.ActionFirstLook(), tracker(
        "👍", intent="nlu_fallback", slots={"pending": "confirm_report"}))
    assert events == [SlotSet("intercept", "consent")]
    assert run(intercept.ActionFirstLook(), tracker("👍", intent="thank"))[0] == []
