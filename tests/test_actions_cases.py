"""Following existing cases from the chat: status, my cases, add info, withdraw, rating."""
from __future__ import annotations

from rasa_sdk.events import SlotSet

from actions import followup, status, texts as replies
from bot.cases import Rating
from tests.chat_helpers import chat, run, texts, tracker  # noqa: F401
from tests.helpers import open_case

MINE = {"channel": "telegram", "address": "10001"}
THEIRS = {"channel": "telegram", "address": "99999"}


def resolved(service, **who) -> str:
    number = open_case(service, **who)
    for action, kwargs in (("accept", {}), ("start", {}), ("resolve", {"text": "已督促商户整改"})):
        service.act(number, action, **kwargs)
    return number


def test_status_by_number(chat):
    number = open_case(chat.cases, **MINE)
    events, messages = run(status.ActionCaseStatus(), tracker(
        f"{number}办得怎么样了", intent="ask_status", entities=[("case_number", number)]))
    assert events == [SlotSet("case_number", number)]
    assert messages[0]["text"].startswith(f"编号 {number}（文化路28号楼下烧烤店每天营业到凌晨两…）目前状态：已派单。\n"
                                          "承办单位：县生态环境分局，承诺 ")


def test_status_of_someone_elses_case_is_refused(chat):
    number = open_case(chat.cases, **THEIRS)
    events, messages = run(status.ActionCaseStatus(), tracker(
        f"查一下{number}", intent="ask_status", entities=[("case_number", number)]))
    assert events == [SlotSet("case_number", None)]
    assert texts(messages) == [status.NOT_YOURS.format(number=number)]


def test_status_of_an_unknown_number_looks_the_same_as_someone_elses(chat):
    events, messages = run(status.ActionCaseStatus(), tracker(
        "20261101-0099", intent="inform", entities=[("case_number", "20261101-0099")]))
    assert events == [SlotSet("case_number", None)]
    assert texts(messages) == [status.NOT_YOURS.format(number="20261101-0099")]


def test_status_with_a_malformed_number(chat):
    events, messages = run(status.ActionCaseStatus(), tracker("查下2026112-07的进度",
                                                             intent="ask_status"))
    assert events == [SlotSet("case_number", None)]
    assert texts(messages) == [status.MALFORMED]


def test_status_without_number_and_without_cases(chat):
    events, messages = run(status.ActionCaseStatus(), tracker("我反映的事怎么样了", intent="ask_status"))
    assert events == [] and texts(messages) == [status.NONE_YET]


def test_status_without_number_lists_several(chat):
    first, second = open_case(chat.cases, **MINE), open_case(chat.cases, **MINE)
    open_case(chat.cases, **THEIRS)
    events, messages = run(status.ActionCaseStatus(), tracker("进度如何", intent="ask_status"))
    assert events == []
    assert messages[0]["text"].splitlines()[1:3] == [
        f"· {second} 文化路28号楼下烧烤店每天营业到凌晨两… —— 已派单",
        f"· {first} 文化路28号楼下烧烤店每天营业到凌晨两… —— 已派单"]


def test_my_cases(chat):
    number = open_case(chat.cases, **MINE)
    events, messages = run(status.ActionMyCases(), tracker("我的诉求", intent="my_cases"))
    assert events == []
    assert messages[0]["text"] == ("您在这里提交的诉求（共1件）：\n"
                                   f"· {number} 文化路28号楼下烧烤店每天营业到凌晨两… —— 已派单\n"
                                   "想看哪一件的详细进展，把编号发给我就行。")
    _, other = run(status.ActionMyCases(), tracker("我的诉求", intent="my_cases", sender="webchat:x"))
    assert texts(other) == [status.NONE_YET]


def test_add_info_goes_to_the_latest_open_case(chat):
    number = open_case(chat.cases, **MINE)
    text = "补充一下，昨晚又吵到三点"
    events, messages = run(followup.ActionAddInfo(), tracker(text, intent="add_info"))
    assert events == [SlotSet("case_number", number)]
    assert texts(messages) == [f"已把您补充的内容加到编号 {number} 的诉求里，代理员会看到。"]
    assert chat.cases.get(number).events[-1].internal_note == text


def test_add_info_to_a_closed_case_is_explained(chat):
    number = open_case(chat.cases, **MINE)
    chat.cases.act(number, "withdraw", actor="resident")
    events, messages = run(followup.ActionAddInfo(), tracker(
        f"{number}再补充点情况", intent="add_info", entities=[("case_number", number)]))
    assert events == []
    assert messages[0]["text"].startswith("补充没有成功：当前状态“已撤回”下不能执行“补充材料”")


AFTER = {"emergency": [{"event": "action", "name": "action_emergency"},
                       {"event": "action", "name": "action_listen"}],
         "opened": [{"event": "action", "name": "action_open_case"},
                    {"event": "action", "name": "action_listen"}]}


def test_a_detail_right_after_an_emergency_goes_on_its_record(chat):
    number = open_case(chat.cases, category="security.emergency", refer="已告知拨打119", **MINE)
    assert chat.cases.get(number).state == "referred"
    events, messages = run(followup.ActionInformNoContext(), tracker(
        "在文化路12号", intent="inform", slots={"case_number": number}, events=AFTER["emergency"]))
    assert events == [] and texts(messages) == [replies.detail_added(number, referred=True)]
    assert "拨打" in texts(messages)[0]
    assert chat.cases.get(number).events[-1].internal_note == "群众补充：在文化路12号"


def test_a_detail_right_after_opening_is_added_information(chat):
    number = open_case(chat.cases, **MINE)
    events, messages = run(followup.ActionInformNoContext(), tracker(
        "是3单元", intent="inform", slots={"case_number": number}, events=AFTER["opened"]))
    assert texts(messages) == [replies.detail_added(number, referred=False)]
    last = chat.cases.get(number).events[-1]
    assert last.action == "add_info" and last.internal_note == "是3单元"


def test_a_detail_anywhere_else_is_asked_about(chat):
    number = open_case(chat.cases, **MINE)
    before = len(chat.cases.get(number).events)
    events, messages = run(followup.ActionInformNoContext(), tracker(
        "在文化路12号", intent="inform", slots={"case_number": number},
        events=[{"event": "action", "name": "action_case_status"}]))
    assert events == [] and texts(messages) == [replies.INFORM_NO_CONTEXT]
    assert len(chat.cases.get(number).events) == before


def test_add_info_without_cases(chat):
    events, messages = run(followup.ActionAddInfo(), tracker("我还要补充", intent="add_info"))
    assert events == []
    assert messages[0]["text"].startswith("没有找到您正在办理中的诉求")


def test_withdraw_asks_then_withdraws(chat):
    number = open_case(chat.cases, **MINE)
    events, messages = run(followup.ActionPrepareWithdraw(), tracker("不用办了撤回吧", intent="withdraw"))
    assert events == [SlotSet("case_number", number), SlotSet("pending", "confirm_withdraw")]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    events, messages = run(followup.ActionWithdrawCase(), tracker(
        "确定", intent="affirm", slots={"case_number": number, "pending": "confirm_withdraw"}))
    assert events == [SlotSet("pending", None)]
    assert chat.cases.get(number).state == "withdrawn"
    assert texts(messages) == [f"编号 {number} 的诉求已按您的意愿撤回。如有需要，欢迎随时再次反映。"]


def test_withdraw_someone_elses_case_is_refused(chat):
    number = open_case(chat.cases, **THEIRS)
    events, messages = run(followup.ActionPrepareWithdraw(), tracker(
        f"撤回{number}", intent="withdraw", entities=[("case_number", number)]))
    assert events == [SlotSet("pending", None)]
    assert texts(messages) == [status.NOT_YOURS.format(number=number)]
    assert chat.cases.get(number).state == "assigned"


def test_withdraw_cancelled(chat):
    events, messages = run(followup.ActionCancelPending(), tracker(
        "算了不撤了", intent="deny", slots={"pending": "confirm_withdraw"}))
    assert events == [SlotSet("pending", None)] and texts(messages) == [replies.WITHDRAW_KEPT]
    events, messages = run(followup.ActionCancelPending(), tracker(
        "不用了", intent="deny", slots={"pending": "offer_errand"}))
    assert events == [SlotSet("pending", None)] and texts(messages) == [replies.ANYTHING_ELSE]


def test_rate_asks_solved_then_satisfaction_then_records(chat):
    number = resolved(chat.cases, **MINE)
    events, messages = run(followup.ActionRate(), tracker("满意", intent="rate_satisfied"))
    assert events == [SlotSet("rating_solved", None), SlotSet("satisfaction", "满意"),
                      SlotSet("case_number", number)]
    assert texts(messages) == [replies.ASK_SOLVED]
    events, messages = run(followup.ActionRate(), tracker(
        "解决了", intent="rate_solved", slots={"satisfaction": "满意"}))
    assert events == [SlotSet("case_number", number), SlotSet("rating_solved", None),
                      SlotSet("satisfaction", None)]
    assert texts(messages) == [f"感谢您的评价！编号 {number} 的诉求已记录您的意见。"]
    assert chat.cases.get(number).events[-1].data == {"solved": True, "satisfaction": "满意"}


def test_rate_solved_asks_satisfaction_with_buttons(chat):
    number = resolved(chat.cases, **MINE)
    events, messages = run(followup.ActionRate(), tracker("问题解决了", intent="rate_solved"))
    assert events == [SlotSet("rating_solved", True), SlotSet("satisfaction", None),
                      SlotSet("case_number", number)]
    assert [b["title"] for b in messages[0]["buttons"]] == ["满意", "基本满意", "不满意"]


def test_unsatisfied_reopens(chat):
    number = resolved(chat.cases, **MINE)
    events, messages = run(followup.ActionRate(), tracker(
        "不满意", intent="rate_unsatisfied", slots={"rating_solved": False}))
    assert events == [SlotSet("case_number", number), SlotSet("rating_solved", None),
                      SlotSet("satisfaction", None)]
    assert messages[0]["text"].startswith("很抱歉没能让您满意。")
    assert chat.cases.get(number).state == "in_progress"


def test_what_the_resident_says_while_rating_is_kept_on_the_case(chat):
    number = resolved(chat.cases, **MINE)
    earlier = [{"event": "user", "text": "还没弄好呢，井盖是补了但是歪的",
                "parse_data": {"intent": {"name": "rate_unsolved"}}},
               {"event": "bot", "text": replies.ASK_SATISFACTION}]
    run(followup.ActionRate(), tracker("不满意", intent="rate_unsatisfied",
                                       slots={"rating_solved": False}, events=earlier))
    rate = next(e for e in chat.cases.get(number).events if e.action == "rate")
    assert rate.internal_note == "群众评价时说：还没弄好呢，井盖是补了但是歪的"


def test_button_presses_add_no_words_to_the_rating(chat):
    number = resolved(chat.cases, **MINE)
    earlier = [{"event": "user", "text": "/rate_unsolved",
                "parse_data": {"intent": {"name": "rate_unsolved"}}}]
    run(followup.ActionRate(), tracker("不满意", intent="rate_unsatisfied",
                                       slots={"rating_solved": False}, events=earlier))
    rate = next(e for e in chat.cases.get(number).events if e.action == "rate")
    assert rate.internal_note is None


def test_rate_with_nothing_to_rate(chat):
    open_case(chat.cases, **MINE)      # still open, not resolved
    events, messages = run(followup.ActionRate(), tracker("解决了", intent="rate_solved"))
    assert events == [SlotSet("rating_solved", None), SlotSet("satisfaction", None)]
    assert messages[0]["text"].startswith("没有找到等待您评价的诉求")


def test_rating_rejected_by_the_service_is_explained(chat, monkeypatch):
    number = resolved(chat.cases, **MINE)
    chat.cases.act(number, "rate", actor="resident", rating=Rating(True, "满意"))
    chat.cases.act(number, "close")
    events, messages = run(followup.ActionRate(), tracker(
        f"{number}满意", intent="rate_satisfied", slots={"rating_solved": True},
        entities=[("case_number", number)]))
    assert messages[0]["text"].startswith("评价没有成功：当前状态“已归档”下不能执行“回访评价”")


def test_rate_ignores_the_open_case_of_this_conversation(chat):
    current = open_case(chat.cases, **MINE)
    events, messages = run(followup.ActionRate(), tracker(
        "解决了", intent="rate_solved", slots={"case_number": current}))
    assert events == [SlotSet("rating_solved", None), SlotSet("satisfaction", None)]
    assert messages[0]["text"].startswith("没有找到等待您评价的诉求")


def test_a_fault_read_as_a_rating_with_nothing_to_rate_becomes_the_report(chat):
    tk = tracker("网络断了", intent="rate_solved", ranking=[("urban.telecom", 0.9)])
    tk.latest_message["intent_ranking"] = [{"name": "rate_solved", "confidence": 0.52},
                                           {"name": "report", "confidence": 0.29}]
    events, messages = run(followup.ActionRate(), tk)
    assert not any("没有找到等待您评价" in (m.get("text") or "") for m in messages)
    assert any(e.get("event") == "followup" and e.get("name") == "report_form" for e in events), events
    assert SlotSet("rating_solved", None) in events


def test_a_bare_rating_with_nothing_to_rate_is_still_told_so(chat):
    tk = tracker("解决了", intent="rate_solved")
    tk.latest_message["intent_ranking"] = [{"name": "rate_solved", "confidence": 0.99},
                                           {"name": "report", "confidence": 0.2}]
    events, messages = run(followup.ActionRate(), tk)
    assert messages[0]["text"].startswith("没有找到等待您评价的诉求")
