"""The case service on real SQLite and real PostgreSQL: the same suite runs on both."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from bot.cases import CaseNotFound, InvalidInput, OpenCase, Rating
from bot.cases import watchdog
from bot.cases.models import CaseRow, EventRow, OutboxRow
from bot.cases.outbox import Outbox
from bot.cases.stats import compute
from tests.helpers import TEXT, open_case


def table_counts(service) -> tuple[int, int, int]:
    with service._sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (CaseRow, EventRow, OutboxRow))


def test_open_routes_assigns_and_notifies(service):
    view = service.open_case(OpenCase(text=TEXT, category="env.noise", area="S1P1G1",
                                      contact="13812345678", channel="telegram", address="42"))
    assert view.state == "assigned"
    assert view.body["code"] == "B-SthJ" and view.agent["code"] == "A-S1P1"
    assert view.tier == "point"
    assert [e.action for e in view.events] == ["open", "assign"]
    assert view.contact == "138****5678"  # masked in views
    # Monday 09:00 Beijing + 5 working days → end of next Monday (Beijing)
    assert view.due_at == "2026-11-30T15:59:59Z"
    with service._sessions() as s:
        rows = s.scalars(select(OutboxRow).order_by(OutboxRow.id)).all()
    assert [(r.channel, r.address, r.status) for r in rows] == [("telegram", "42", "pending")] * 2
    assert "县生态环境分局" in rows[1].text and "12月" not in rows[1].text and "11月30日" in rows[1].text


def test_numbers_are_unique_and_increase_within_a_day(service, clock):
    numbers = [open_case(service) for _ in range(5)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5
    assert numbers[0] == "20261123-0001" and numbers[-1] == "20261123-0005"
    clock.advance(days=1)
    assert open_case(service) == "20261124-0001"


def test_number_prefix_is_configurable(container):
    container.cases.prefix = "SF"
    assert open_case(container.cases).startswith("SF20261123-")


def test_idempotent_open_returns_the_same_case(service):
    first = open_case(service, idempotency_key="tg:42:1001")
    again = open_case(service, idempotency_key="tg:42:1001", text="完全不同的文字")
    assert first == again
    assert table_counts(service)[0] == 1


def test_routing_prefers_the_nearest_body(service):
    police_town = service.open_case(OpenCase(text="小区电动车老被偷", category="security.public_order", area="S3P2G1"))
    police_county = service.open_case(OpenCase(text="小区电动车老被偷", category="security.public_order", area="S2P1"))
    no_area = service.open_case(OpenCase(text="邻居养狗不拴绳", category="other.neighborhood"))
    assert police_town.body["code"] == "B-PCS3"
    assert police_county.body["code"] == "B-GAJ"
    assert (no_area.body["code"], no_area.agent["code"], no_area.tier) == ("B-C-OFFICE", "A-C", "center")


def test_utility_deadline_is_in_clock_hours(service, clock):
    view = service.open_case(OpenCase(text="整栋楼停水了", category="urban.water_supply", area="S2P2"))
    assert view.due_at == "2026-11-24T01:00:00Z"


def test_holidays_are_not_working_days(service, clock):
    clock.now = datetime(2026, 9, 30, 2, 0)  # 国庆: Oct 1-7 off, Oct 10 (Sat) a 调休 workday
    view = service.open_case(OpenCase(text="楼下太吵", category="env.noise", area="S1P1"))
    # Oct 8, 9, 10(调休), 12, 13 → end of Oct 13 Beijing
    assert view.due_at == "2026-10-13T15:59:59Z"


def test_extension_moves_the_deadline_with_a_reason(service):
    number = open_case(service)
    with pytest.raises(InvalidInput):
        service.act(number, "extend", to="3")  # no reason
    view = service.act(number, "extend", to="2026-12-18", text="需协调供电部门")
    assert view.due_at == "2026-12-18T15:59:59Z"
    assert view.events[-1].data["reason"] == "需协调供电部门"
    with pytest.raises(InvalidInput):
        service.act(number, "extend", to="2026-12-01", text="往前改")


def test_transfer_changes_the_body_and_restarts_signing(service):
    number = open_case(service)
    service.act(number, "accept")
    view = service.act(number, "transfer", to="县城市管理局", text="占道经营属城管")
    assert (view.state, view.body["code"]) == ("assigned", "B-CGJ")
    assert view.events[-1].internal_note == "占道经营属城管"


def test_merge_follows_the_target(service):
    target, dup = open_case(service), open_case(service)
    view = service.act(dup, "merge", to=target)
    assert (view.state, view.merged_into) == ("merged", target)
    with pytest.raises(InvalidInput):
        service.act(open_case(service), "merge", to=dup)  # a merged case is finished


def test_unsatisfied_rating_reopens(service):
    number = open_case(service)
    for action, kw in [("accept", {}), ("start", {}), ("resolve", {"text": "已处理"})]:
        service.act(number, action, **kw)
    view = service.act(number, "rate", rating=Rating(False, "不满意"), actor="resident")
    assert view.state == "in_progress"
    assert [e.action for e in view.events[-2:]] == ["rate", "reopen"]


def test_watchdog_escalates_one_tier_per_missed_deadline(service, clock):
    number = open_case(service)
    assert watchdog.run_once(service) == []
    clock.advance(hours=5)  # sign limit of env.noise is 4 h
    assert watchdog.run_once(service) == [number]
    view = service.get(number)
    assert (view.tier, view.agent["code"], view.state) == ("station", "A-S1", "assigned")
    assert watchdog.run_once(service) == []  # the station has a fresh sign deadline
    clock.advance(hours=5)
    assert watchdog.run_once(service) == [number]
    assert service.get(number).tier == "center"
    clock.advance(hours=5)
    assert watchdog.run_once(service) == []  # nowhere higher to go
    texts = [e.public_text for e in service.get(number).events if e.action == "escalate"]
    assert "代理站督办" in texts[0] and "代理中心督办" in texts[1]


def test_watchdog_escalates_unresolved_cases_after_the_due_date(service, clock):
    number = open_case(service)
    service.act(number, "accept")
    clock.advance(days=10)
    assert watchdog.run_once(service) == [number]
    service.act(number, "accept")
    assert watchdog.run_once(service) == []  # escalated since it fell due


class FlakySender:
    def __init__(self, failures: int) -> None:
        self.failures, self.sent = failures, []

    def send(self, address, text, *, case_number):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("gateway down")
        self.sent.append((address, case_number, text))


def test_outbox_retries_with_backoff_then_delivers(service, clock):
    number = open_case(service)
    sender = FlakySender(failures=2)
    box = Outbox(service, {"telegram": sender}, max_tries=5, backoff_seconds=30)
    assert box.drain_once().retried == 2
    assert box.drain_once().sent == 0  # not due yet
    clock.advance(seconds=31)
    assert box.drain_once().sent == 2
    assert [s[1] for s in sender.sent] == [number, number]
    assert box.counts() == {"sent": 2}


def test_outbox_dead_letters_after_max_tries_and_keeps_them(service, clock):
    open_case(service, channel="sms", address="13812345678")
    box = Outbox(service, {"sms": FlakySender(failures=100)}, max_tries=3, backoff_seconds=1)
    for _ in range(4):
        box.drain_once()
        clock.advance(minutes=10)
    assert box.counts() == {"dead": 2}
    dead = box.dead_letters()
    assert len(dead) == 2 and "gateway down" in dead[0]["error"] and dead[0]["tries"] == 3


def test_inline_ack_marks_opening_messages_delivered(service):
    service.open_case(OpenCase(text=TEXT, category="env.noise", channel="webchat",
                               address="s1", inline_ack=True))
    with service._sessions() as s:
        assert {r.status for r in s.scalars(select(OutboxRow))} == {"sent"}


def test_stats_come_from_events(service, clock):
    a, b = open_case(service), open_case(service)
    open_case(service)                             # assigned, never signed
    service.act(a, "accept")                       # signed in time
    clock.advance(hours=6)
    service.act(b, "accept")                       # signed late (limit 4 h)
    for n in (a, b):
        service.act(n, "start")
        service.act(n, "resolve", text="已处理")
    service.act(a, "rate", rating=Rating(True, "满意"))
    service.act(b, "rate", rating=Rating(True, "基本满意"))
    stats = compute(service, "2026Q4").to_dict()
    assert stats["counts"]["assigned"] == 3
    assert stats["response_rate"] == round(1 / 3, 4)
    assert (stats["resolution_rate"], stats["satisfaction_rate"]) == (1.0, 1.0)
    assert stats["on_time_rate"] == 1.0
    assert stats["by_body"]["B-SthJ"]["counts"]["assigned"] == 3
    assert compute(service, "2026Q3").to_dict()["counts"]["assigned"] == 0


@pytest.mark.parametrize("fields,zh", [
    ({"category": "no.such"}, "未知的诉求分类"),
    ({"area": "X9"}, "未知的区域"),
    ({"text": "   "}, "不能为空"),
    ({"text": "长" * 5001}, "内容过长"),
    ({"text": "abc\x00def"}, "无法识别"),
    ({"contact": "12345"}, "电话号码格式不对"),
    ({"kind": "gossip"}, "未知的类型"),
])
def test_bad_input_is_refused_and_changes_nothing(service, fields, zh):
    before = table_counts(service)
    with pytest.raises(InvalidInput) as err:
        open_case(service, **fields)
    assert zh in err.value.zh
    assert table_counts(service) == before


def test_unknown_case_number(service):
    with pytest.raises(CaseNotFound):
        service.get("20991231-0001")
    with pytest.raises(CaseNotFound):
        service.act("20991231-0001", "accept")


def test_list_filters(service, clock):
    a, b = open_case(service), open_case(service, category="urban.water_supply")
    service.act(a, "accept")
    assert [v.number for v in service.list_cases(state="accepted")] == [a]
    assert [v.number for v in service.list_cases(body="B-SW")] == [b]
    clock.advance(days=2)
    assert [v.number for v in service.list_cases(overdue=True)] == [b]
    assert service.owns(a, "telegram", "10001") and not service.owns(a, "telegram", "99")
    with pytest.raises(InvalidInput):
        service.list_cases(state="lost")


def test_with_case_writes_in_the_opening_transaction(service):
    seen = []

    def with_case(session, view):
        assert session.scalar(select(CaseRow.number).where(CaseRow.number == view.number)) == view.number
        seen.append(view.number)

    view = service.open_case(OpenCase(text=TEXT, category="env.noise", idempotency_key="door:1"),
                             with_case=with_case)
    assert seen == [view.number]
    again = service.open_case(OpenCase(text=TEXT, category="env.noise", idempotency_key="door:1"),
                              with_case=with_case)
    assert again.number == view.number and seen == [view.number]     # not called on a retry

    def failing(session, view):
        raise RuntimeError("the door's row could not be written")

    before = table_counts(service)
    with pytest.raises(RuntimeError):
        service.open_case(OpenCase(text=TEXT, category="env.noise"), with_case=failing)
    assert table_counts(service) == before        # nothing of the case was committed
