"""联合办理 (issue 13): from a hot-spot alert a supervisor opens one joint case that the alert's
open cases join. Members stay their own cases, their residents are told of the joint case and
hear its replies and its outcome; asking twice opens nothing new; finished cases are skipped
with the reason; only supervisors may, with CSRF. Real stores (SQLite and PostgreSQL), real app."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.cases import Rating, hotspots
from bot.cases.errors import InvalidInput
from bot.cases.models import CaseRow, OutboxRow
from bot.cases.queries import CaseQueries
from tests.test_supervision import LIFT, background, login, plant, with_staff

RULES = hotspots.HotspotRules(min_cases=5, window_days=7)
SUPER = "staff:super1"


def alert(container, clock) -> tuple[int, list[str]]:
    """Five residents' lift cases (urban.property, routed to B-ZJJ) and their raised alert."""
    background(container, clock)
    planted = plant(container, clock, LIFT[:5], [f"1380000{i:04d}" for i in range(5)])
    hotspots.scan(container.cases, RULES, raise_alerts=True)
    [row] = hotspots.alerts(container.cases)
    return row["id"], planted


def outbox(container, number: str) -> list[str]:
    with container.cases.session_factory() as session:
        return list(session.scalars(select(OutboxRow.text).join(CaseRow, CaseRow.id == OutboxRow.case_id)
                                    .where(CaseRow.number == number).order_by(OutboxRow.id)))


def test_one_joint_case_for_an_alert_its_cases_join_and_their_residents_are_told(container, clock):
    service = container.cases
    alert_id, planted = alert(container, clock)
    for number in planted[1:4]:                    # most open ones are now with the city office
        service.act(number, "transfer", to="B-CGJ", text="属城管职责")
    service.act(planted[3], "withdraw", text="不需要了")
    service.act(planted[4], "merge", to=planted[0])
    done = hotspots.open_joint(service, alert_id, actor=SUPER)
    joint = done["joint"]
    assert done["opened"] and done["found"] and done["body"]["code"] == "B-CGJ"
    assert done["joined"] == planted[:3]
    assert {s["number"]: s["reason"] for s in done["skipped"]} == {
        planted[3]: "当前状态“已撤回”下不能执行“联合办理”",
        planted[4]: "当前状态“已并单”下不能执行“联合办理”"}
    view = service.get(joint)
    assert view.joint and view.state == "assigned" and view.body["code"] == "B-CGJ"
    assert view.due_at and view.events[0].actor == SUPER and "预警 #" in view.text
    assert [m["number"] for m in view.joint_members] == planted[:3]
    assert outbox(container, joint) == []          # no resident of its own: nothing queued, none dead
    for number in planted[:3]:
        member = service.get(number)
        assert member.joint_case == joint and member.state == "in_progress"
        assert member.merged_into is None and member.body["code"] in ("B-ZJJ", "B-CGJ")
        last = member.events[-1]
        assert (last.action, last.actor, last.data["joint"]) == ("join", SUPER, joint)
        told = outbox(container, number)[-1]
        assert f"联合办理工单 {joint}" in told and "县城市管理局" in told and number in told
        assert "承诺" in told and "编号不变" in told
    # asked again (a double click, the timer's next alert): the same joint case, nobody twice
    again = hotspots.open_joint(service, alert_id, body="B-WLJ", actor=SUPER)
    assert (again["joint"], again["opened"], again["joined"]) == (joint, False, [])
    assert {s["reason"] for s in again["skipped"][:3]} == {f"已在联合办理工单 {joint} 中"}
    with service.session_factory() as session:
        assert session.query(CaseRow).filter(CaseRow.joint.is_(True)).count() == 1
    # a later case of the same matter grows the alert and joins the same joint case
    later = plant(container, clock, LIFT[5:6], ["13800009999"])
    hotspots.scan(container.cases, RULES, raise_alerts=True)
    assert [a["id"] for a in hotspots.alerts(service)] == [alert_id]
    assert hotspots.open_joint(service, alert_id, actor=SUPER)["joined"] == later
    [spot] = hotspots.detect(service, RULES)
    assert joint not in spot.numbers                # the joint case is no resident's report
    from bot.cases.stats import compute

    figures = compute(service)
    with service.session_factory() as session:
        residents = session.query(CaseRow).filter(CaseRow.joint.is_(False)).count()
    assert figures.opened == residents              # nor one of the figures' cases
    shown = spot.to_dict(service.catalog)
    assert shown["joint_case"] == joint
    assert {c["number"]: c["joint_case"] for c in shown["cases"]}[planted[0]] == joint


def test_the_joint_cases_reply_and_resolution_reach_every_member(container, clock):
    service = container.cases
    alert_id, planted = alert(container, clock)
    joint = hotspots.open_joint(service, alert_id, actor=SUPER)["joint"]
    service.act(joint, "accept")
    service.act(joint, "start")
    service.act(joint, "reply", text="已联系电梯维保单位，明天上午检修", actor="staff:zjj1")
    for number in planted:
        assert outbox(container, number)[-1] == (
            f"关于编号 {number} 的诉求（联合办理工单 {joint}），县住房和城乡建设局 答复："
            "已联系电梯维保单位，明天上午检修")
    service.act(planted[4], "transfer", to="B-CGJ", text="另行处理")   # its handler moved it on
    clock.advance(days=30)                          # past every case's own deadline
    due = CaseQueries(service).escalation_due()
    assert joint in due and not set(planted) & set(due)   # the joint case carries the deadline
    service.act(joint, "resolve", text="7号楼电梯已更换主板，恢复运行", actor="staff:zjj1")
    for number in planted[:4]:
        member = service.get(number)
        last = member.events[-1]
        assert member.state == "resolved" and last.action == "resolve"
        assert (last.actor, last.data["joint"], last.data["text"]) == (
            "staff:zjj1", joint, "7号楼电梯已更换主板，恢复运行")
        told = outbox(container, number)[-1]
        assert told.startswith(f"编号 {number} 的诉求已随联合办理工单 {joint} 一并办结")
        assert "恢复运行" in told and "满意吗" in told
    assert service.get(planted[4]).state == "assigned"     # left to its handler
    assert planted[4] in CaseQueries(service).escalation_due()   # and watched again
    rated = service.act(planted[0], "rate", rating=Rating(solved=False, satisfaction="不满意"))
    assert rated.state == "in_progress" and service.get(joint).state == "resolved"


def test_body_choice_and_unknown_alert(container, clock):
    service = container.cases
    alert_id, planted = alert(container, clock)
    assert hotspots.open_joint(service, 999_999, actor=SUPER) == {"found": False}
    with pytest.raises(InvalidInput) as err:
        hotspots.open_joint(service, alert_id, body="B-NOPE", actor=SUPER)
    assert err.value.zh == "未知的承办单位：B-NOPE"
    done = hotspots.open_joint(service, alert_id, body="B-WLJ", actor=SUPER)
    assert done["body"]["code"] == "B-WLJ" and len(done["joined"]) == 5
    with pytest.raises(InvalidInput):               # a plain case is no joint case to join
        service.act(planted[0], "join", to=planted[1])


def test_two_clicks_at_once_open_one_joint_case(container, clock):
    service = container.cases
    alert_id, planted = alert(container, clock)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: hotspots.open_joint(service, alert_id, actor=SUPER),
                                range(2)))
    assert results[0]["joint"] == results[1]["joint"]
    assert sorted(results[0]["joined"] + results[1]["joined"]) == sorted(planted)
    assert len(service.get(results[0]["joint"]).joint_members) == 5
    for number in planted:
        assert sum(e.action == "join" for e in service.get(number).events) == 1


def test_the_api_is_for_supervisors_with_csrf_and_the_case_pages_link_both_ways(container, clock):
    alert_id, planted = alert(container, clock)
    app = with_staff(container)
    body, body_csrf = login(app, "envbody")
    r = body.post(f"/api/staff/hotspots/{alert_id}/joint", json={}, headers={"X-CSRF-Token": body_csrf})
    assert r.status_code == 403 and r.json()["error"] == "只有督办可以发起联合办理。"
    admin, admin_csrf = login(app, "admin1")
    assert admin.post(f"/api/staff/hotspots/{alert_id}/joint", json={},
                      headers={"X-CSRF-Token": admin_csrf}).status_code == 403
    sup, csrf = login(app, "super1")
    assert sup.post(f"/api/staff/hotspots/{alert_id}/joint", json={}).status_code == 403   # no CSRF
    assert sup.post(f"/api/staff/hotspots/{alert_id}/joint", json={},
                    headers={"X-CSRF-Token": "wrong"}).status_code == 403
    with container.cases.session_factory() as session:
        assert session.query(CaseRow).filter(CaseRow.joint.is_(True)).count() == 0
    assert sup.post("/api/staff/hotspots/424242/joint", json={},
                    headers={"X-CSRF-Token": csrf}).status_code == 404
    assert sup.post(f"/api/staff/hotspots/{alert_id}/joint", json={"body": "B-NOPE"},
                    headers={"X-CSRF-Token": csrf}).status_code == 400
    r = sup.post(f"/api/staff/hotspots/{alert_id}/joint", json={"body": "B-CGJ"},
                 headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    joint = r.json()["joint"]
    assert r.json()["joined"] == planted and r.json()["skipped"] == []
    assert r.json()["body"] == {"code": "B-CGJ", "name": "县城市管理局"}
    twice = sup.post(f"/api/staff/hotspots/{alert_id}/joint", json={},
                     headers={"X-CSRF-Token": csrf}).json()
    assert twice["joint"] == joint and twice["joined"] == [] and len(twice["skipped"]) == 5
    page = sup.get(f"/api/staff/cases/{joint}").json()
    assert page["joint"] and [m["number"] for m in page["joint_members"]] == planted
    member = sup.get(f"/api/staff/cases/{planted[0]}").json()
    assert member["joint_case"] == joint and "join" not in member["actions"]
    # joining is the alert's call only: the case actions refuse it, whoever asks
    r = sup.post(f"/api/staff/cases/{planted[0]}/actions", json={"action": "join", "to": joint},
                 headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    listed = sup.get("/api/staff/hotspots").json()["items"][0]
    assert listed["joint_case"] == joint
