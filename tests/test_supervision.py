"""Supervision (issue 13): the dashboard's figures are `bot stats --json`'s, body staff see their
own body only, exports open in openpyxl with Chinese headers and masked phones, hot spots are
found on planted clusters and repeated calls count once. Real app, real stores, real CLI."""
from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st
from openpyxl import load_workbook

from bot.cases import OpenCase, Rating, hotspots
from bot.cases.stats import compute, previous_period
from bot.cli import main as cli
from bot.staff.passwords import Passwords
from bot.settings import ROOT
from bot.web.app import create_app
from tests.conftest import Clock, make_container
from tests.web_support import web_settings

PASSWORD = "长密码-不常见-2026"
PERIODS = ["2026-10", "2026-11", "2026Q4", "2026-W45", "2026-11-02..2026-11-20", "2026-11-05"]
MIXED = [("env.noise", "楼下烧烤店天天吵到凌晨两点，噪音太大睡不着"),
         ("urban.water_supply", "小区停水两天了也没有通知"),
         ("transport.parking", "电动车乱停把消防通道堵了"),
         ("labor.wage_arrears", "装修公司拖欠工资三个月不给")]
AREAS = ["S1P1G1", "S1P2G1", "S2P1G2", "S3P1G1", "S4P2G1"]


def history(container, clock: Clock, seed: int, cases: int = 24) -> list[str]:
    """Cases opened over Oct-Nov 2026, each signed (on time or late), some resolved (on time or
    late), some rated (solved or not, any satisfaction), some transferred."""
    rng, service, numbers = random.Random(seed), container.cases, []
    for i in range(cases):
        category, text = rng.choice(MIXED)
        clock.now = datetime(2026, 10, 1) + timedelta(hours=rng.randint(0, 24 * 58))
        view = service.open_case(OpenCase(text=f"{text}（{i}）", category=category,
                                          area=rng.choice(AREAS), contact=f"1391234{i:04d}",
                                          channel="phone", address=f"1391234{i:04d}"))
        numbers.append(view.number)
        clock.advance(hours=rng.choice([1, 3, 30]))
        if rng.random() < 0.15:
            target = "B-GD" if view.body["code"] != "B-GD" else "B-SthJ"
            service.act(view.number, "transfer", to=target, text="转办")
            clock.advance(hours=rng.choice([1, 30]))
        service.act(view.number, "accept")
        if rng.random() < 0.75:
            clock.advance(days=rng.choice([1, 3, 20]))
            service.act(view.number, "resolve", text="已处理")
            if rng.random() < 0.7:
                clock.advance(hours=5)
                service.act(view.number, "rate", rating=Rating(
                    rng.random() < 0.7, rng.choice(["满意", "基本满意", "不满意"])))
    return numbers


def cli_stats(url: str, tmp_path, period: str | None) -> dict:
    env = {"DATABASE_URL": url, "BOT_VAR_DIR": str(tmp_path / "var"), "BOT_DATA_DIR": str(ROOT / "data")}
    args = ["stats", "--json"] + (["--period", period] if period else [])
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def with_staff(container):
    staff = container.staff
    staff.passwords = Passwords(time_cost=1, memory_cost=1024, parallelism=1)
    staff.add("super1", "supervisor", PASSWORD)
    staff.add("envbody", "body", PASSWORD, body_code="B-SthJ")
    staff.add("admin1", "admin", PASSWORD)
    staff.add("agent1", "agent", PASSWORD, agent_code="A-S1P1")
    return create_app(container, web=web_settings("http://127.0.0.1:9"))


def login(app, username: str) -> tuple[TestClient, str]:
    client = TestClient(app)
    r = client.post("/api/staff/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client, r.json()["csrf_token"]


# ------------------------------------------------------------------ figures: one source
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6))
def test_dashboard_api_equals_bot_stats_json_on_random_histories(tmp_path_factory, seed):
    tmp = tmp_path_factory.mktemp("hist")
    url = f"sqlite:///{tmp / 'cases.db'}"
    container = make_container(url, tmp)
    clock = Clock()
    container.cases.clock = clock
    history(container, clock, seed)
    app = with_staff(container)
    sup, _ = login(app, "super1")
    body, _ = login(app, "envbody")
    for period in PERIODS:
        expected = cli_stats(url, tmp, period)
        got = sup.get("/api/staff/stats", params={"period": period})
        assert got.status_code == 200, got.text
        assert got.json() == expected
        by = sup.get("/api/staff/stats", params={"period": period, "by": "body"}).json()
        assert by["by_body"] == expected["by_body"] and "by_category" not in by
        dash = sup.get("/api/staff/dashboard", params={"period": period}).json()
        assert dash["stats"] == expected
        for rate in dash["rates"]:
            assert rate["value"] == expected[rate["key"]]
        previous = cli_stats(url, tmp, previous_period(period))
        assert dash["previous"]["counts"] == previous["counts"]
        # the trend's buckets add up to the period
        assert sum(p["opened"] for p in dash["trend"]) == expected["opened"]
        assert sum(p["resolved"] for p in dash["trend"]) == expected["counts"]["resolved"]
        # body staff: their body's figures, exactly the supervisor's by_body entry
        mine = body.get("/api/staff/stats", params={"period": period}).json()
        own = expected["by_body"].get("B-SthJ")
        if own is None:
            assert mine["counts"]["assigned"] == 0
        else:
            assert {k: mine[k] for k in own} == own
        assert set(mine["by_body"]) <= {"B-SthJ"}
    container.engine.dispose()


def test_by_area_rolls_up_the_tiers_and_the_center_is_everything(container, clock):
    history(container, clock, 7)
    figures = compute(container.cases, "2026Q4").to_dict()
    assert figures["by_area"]["C"]["counts"] == figures["counts"]
    assert figures["by_area"]["C"]["opened"] == figures["opened"]
    stations = [c for c, a in container.catalog.areas.items() if a.tier == "station"]
    assert sum(figures["by_area"].get(s, {"opened": 0})["opened"] for s in stations) == figures["opened"]


@pytest.mark.parametrize("period, words", [
    ("2026-13", "月份不对"), ("1900", "统计年份不对"), ("2000-01-01..2020-01-01", "最长"),
    ("2026-W60", "周数不对"), ("2026-11-31", "日期不对"), ("下个月", "统计周期格式不对")])
def test_bad_periods_are_a_chinese_400(container, period, words):
    app = with_staff(container)
    sup, _ = login(app, "super1")
    for path in ("/api/staff/stats", "/api/staff/dashboard", "/api/staff/export"):
        r = sup.get(path, params={"period": period})
        assert r.status_code == 400 and words in r.json()["error"], (path, r.text)


def test_empty_and_future_periods_say_so_and_draw_an_empty_chart(container):
    app = with_staff(container)
    sup, _ = login(app, "super1")
    dash = sup.get("/api/staff/dashboard", params={"period": "2031-05"}).json()
    assert dash["note"] == "所选时段尚未开始，暂无数据。"
    assert all(r["value"] is None for r in dash["rates"])
    empty = sup.get("/api/staff/dashboard", params={"period": "2020-05"}).json()
    assert empty["note"] == "该时段没有诉求数据。"
    svg = sup.get("/api/staff/charts/volume.svg", params={"period": "2020-05"})
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "该时段没有数据" in svg.text


def test_body_staff_see_their_own_body_only_and_others_are_refused(container, clock):
    history(container, clock, 3)
    app = with_staff(container)
    body, _ = login(app, "envbody")
    r = body.get("/api/staff/stats", params={"period": "2026Q4", "body": "B-GD"})
    assert r.status_code == 403 and r.json()["error"] == "只能查看本单位的统计。"
    dash = body.get("/api/staff/dashboard", params={"period": "2026Q4"}).json()
    assert dash["body"] == "B-SthJ" and set(dash["stats"]["by_body"]) <= {"B-SthJ"}
    agent, _ = login(app, "agent1")
    assert agent.get("/api/staff/stats").status_code == 403
    sup, _ = login(app, "super1")
    assert sup.get("/api/staff/stats", params={"body": "NOPE"}).json()["code"] == "unknown_body"
    admin, _ = login(app, "admin1")
    assert admin.get("/api/staff/stats", params={"period": "2026Q4"}).status_code == 200
    assert admin.get("/api/staff/hotspots").status_code == 403
    assert admin.get("/api/staff/export", params={"period": "2026Q4"}).status_code == 403
    exported = body.get("/api/staff/export", params={"period": "2026Q4", "format": "csv"})
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    bodies = {r[rows[0].index("承办单位")] for r in rows[1:]}
    assert bodies <= {container.catalog.bodies["B-SthJ"].name}


# ------------------------------------------------------------------ exports
def test_xlsx_export_opens_with_chinese_headers_masked_phones_and_a_sheet_per_body(container, clock):
    numbers = history(container, clock, 5)
    app = with_staff(container)
    sup, _ = login(app, "super1")
    r = sup.get("/api/staff/export", params={"period": "2026Q4", "format": "xlsx"})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content), read_only=True)
    assert book.sheetnames[:2] == ["统计", "全部诉求"]
    cases = list(book["全部诉求"].iter_rows(values_only=True))
    assert cases[0][:3] == ("编号", "受理时间", "类型") and "联系电话" in cases[0]
    assert {row[0] for row in cases[1:]} == set(numbers)
    phone = cases[0].index("联系电话")
    assert all(row[phone].startswith("139") and "****" in row[phone] for row in cases[1:])
    everything = " ".join(str(v) for name in book.sheetnames
                          for row in book[name].iter_rows(values_only=True) for v in row if v)
    assert "13912340" not in everything                  # no whole phone number anywhere
    bodies = {row[cases[0].index("承办单位")] for row in cases[1:]}
    assert bodies <= set(book.sheetnames[2:]) | {""}
    figures = list(book["统计"].iter_rows(values_only=True))
    assert figures[1][:4] == ("维度", "名称", "受理数", "响应率")
    stats = compute(container.cases, "2026Q4").to_dict()
    assert figures[2][2] == stats["opened"]
    assert figures[2][figures[1].index("办结数")] == stats["counts"]["resolved"]
    csv_figures = sup.get("/api/staff/export", params={"period": "2026Q4", "format": "csv",
                                                       "part": "figures"})
    assert csv_figures.content.startswith("\ufeff".encode()) and "按时办结率" in csv_figures.text


# ------------------------------------------------------------------ hot spots
LIFT = ["7号楼电梯又坏了，关人了", "7号楼电梯坏了，人被关在里面", "7号楼的电梯坏了困住人",
        "7号楼电梯又坏了困人，请尽快修", "7号楼电梯坏了好几天，还关过人", "电梯坏了，7号楼，又关人了"]
OTHER = ["小区门口早点摊占道经营", "楼下KTV半夜唱歌太吵", "自来水发黄有异味", "路灯不亮晚上很黑",
         "装修公司拖欠工资", "超市卖过期面包"]


def plant(container, clock, texts, residents, area_cycle=("S1P1G1", "S1P1G2")) -> list[str]:
    numbers = []
    for i, (text, who) in enumerate(zip(texts, residents)):
        clock.advance(hours=7)
        numbers.append(container.cases.open_case(OpenCase(
            text=f"文化路{text}", category="urban.property", area=area_cycle[i % len(area_cycle)],
            channel="phone", address=who, contact=who)).number)
    return numbers


def background(container, clock):
    for i, text in enumerate(OTHER):
        clock.advance(hours=3)
        container.cases.open_case(OpenCase(text=text, category="urban.property" if i % 2 else "env.noise",
                                           area="S1P1G1", channel="phone", address=f"1370000{i:04d}"))


def test_a_planted_cluster_raises_one_alert_and_tells_the_supervisors_once(container, clock):
    background(container, clock)
    planted = plant(container, clock, LIFT[:5], [f"1380000{i:04d}" for i in range(5)])
    background(container, clock)
    rules = hotspots.HotspotRules(min_cases=5, window_days=7)
    found = hotspots.detect(container.cases, rules)
    assert len(found) == 1 and set(found[0].numbers) == set(planted) and found[0].residents == 5
    assert found[0].area == "S1P1"
    hotspots.scan(container.cases, rules, raise_alerts=True)
    hotspots.scan(container.cases, rules, raise_alerts=True)         # the timer runs again
    alerts = hotspots.alerts(container.cases)
    assert len(alerts) == 1 and set(alerts[0]["case_numbers"]) == set(planted)
    newest = container.cases.get(planted[-1])
    notes = [e for e in newest.events if e.actor == hotspots.ACTOR]
    assert len(notes) == 1 and notes[0].action == "note" and "5 位群众" in notes[0].internal_note
    app = with_staff(container)
    sup, csrf = login(app, "super1")
    listed = sup.get("/api/staff/hotspots").json()["items"]
    assert listed[0]["raised"] and listed[0]["alert_id"] == alerts[0]["id"]
    other_body, _ = login(app, "envbody")                 # none of these cases is theirs
    assert other_body.get("/api/staff/hotspots").json()["items"] == []
    r = sup.post(f"/api/staff/hotspots/{alerts[0]['id']}/merge", json={"into": planted[0]},
                 headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and set(r.json()["merged"]) == set(planted[1:])
    assert container.cases.get(planted[1]).merged_into == planted[0]
    assert hotspots.detect(container.cases, rules) == []          # merged cases count at the target


def test_repeated_calls_from_one_resident_count_once(container, clock):
    background(container, clock)
    four = [f"1380000{i:04d}" for i in range(4)]
    plant(container, clock, LIFT, four + [four[0], four[1]])       # 6 calls, 4 residents
    rules = hotspots.HotspotRules(min_cases=5, window_days=7)
    assert hotspots.detect(container.cases, rules) == []
    assert [h.residents for h in hotspots.detect(container.cases, hotspots.HotspotRules(4, 7))] == [4]


def test_a_cluster_older_than_the_window_or_far_away_is_no_hot_spot(container, clock):
    plant(container, clock, LIFT[:3], ["13800000001", "13800000002", "13800000003"])
    plant(container, clock, LIFT[3:5], ["13800000004", "13800000005"], area_cycle=("S4P2G1",))
    rules = hotspots.HotspotRules(min_cases=5, window_days=7)
    assert hotspots.detect(container.cases, rules) == []            # 3 here, 2 in another 站
    clock.advance(days=9)
    plant(container, clock, LIFT[3:5], ["13800000004", "13800000005"])
    assert hotspots.detect(container.cases, rules) == []            # the first three are too old


def test_the_bench_judge_counts_right_alerts_and_found_clusters():
    """How `bench.hotspots` scores alerts (its figures: `make bench`)."""
    from bench.hotspots import judge, Truth
    truth = Truth(cluster_of={"a": 0, "b": 0, "c": 1}, planted=[0, 1], decoys=[])
    assert judge([{"case_numbers": ["a", "b"]}, {"case_numbers": ["x", "y"]}], truth) == {
        "alerts": 2, "right": 1, "precision": 0.5, "recall": 0.5, "decoys_alerted": 0}


def test_dashboard_page_needs_a_login_and_carries_the_strict_csp(container):
    app = with_staff(container)
    anon = TestClient(app)
    r = anon.get("/console/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    sup, _ = login(app, "super1")
    for path in ("/console/dashboard", "/console/report"):
        page = sup.get(path)
        assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
        assert "/static/console/dashboard.js" in page.text and "<!--header-->" not in page.text


def test_bot_hotspots_raise_prints_and_records_the_alert(sqlite_container, clock, tmp_path):
    container = sqlite_container
    plant(container, clock, LIFT[:5], [f"1380000{i:04d}" for i in range(5)])
    env = {"DATABASE_URL": str(container.engine.url), "BOT_VAR_DIR": str(tmp_path / "var"),
           "BOT_DATA_DIR": str(ROOT / "data")}
    # the CLI's clock is the real one: a window reaching back to the planted cases
    env["HOTSPOT_WINDOW_DAYS"] = str((datetime.utcnow() - clock.now).days + 8)
    result = CliRunner().invoke(cli, ["hotspots", "--raise", "--json"], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)
    assert len(items) == 1 and items[0]["raised"] and items[0]["residents"] == 5
    assert len(hotspots.alerts(container.cases)) == 1
    human = CliRunner().invoke(cli, ["hotspots"], env=env, catch_exceptions=False)
    assert f"预警 #{items[0]['alert_id']}" in human.output and "5 位群众" in human.output
