"""The supervision dashboard in a real browser: a supervisor sees the figures and the charts
drawn, follows a ranking row to the filtered queue and downloads the XLSX, which reads back."""
from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook

pytest.importorskip("playwright.sync_api", reason="pip install -r requirements/dev.txt")

from tests.test_console_browser import add_staff, chromium, desk, login, open_case, site  # noqa: F401,E402


def test_supervisor_sees_charts_follows_a_ranking_and_downloads_the_xlsx(site, chromium, tmp_path):
    add_staff(site.container, "super1", "body2")
    service = site.container.cases
    numbers = [open_case(site.container, f"文化路{i}号楼下烧烤店噪音扰民，电话1381234567{i}")
               for i in range(3)]
    service.act(numbers[0], "accept")
    service.act(numbers[0], "resolve", text="已处理")
    context = desk(chromium)
    page, seen = login(context, site.base, "super1", "/console/dashboard")
    page.wait_for_selector("#rate-cards .card[data-rate='on_time_rate']")
    assert page.locator("#rate-cards .card").count() == 5
    page.wait_for_selector("#nav-dashboard[aria-current=page]:not([hidden])")   # the header links it
    assert page.inner_text("#rate-cards .card[data-rate='opened'] .value") == "3"
    page.wait_for_function("() => ['chart-volume', 'chart-rates'].every(id => "
                           "document.getElementById(id).complete && "
                           "document.getElementById(id).naturalWidth > 0)")
    assert len(page.screenshot(full_page=True)) > 20_000
    assert page.locator("#tier-rows tr.tier-row").count() == len(site.container.catalog.areas)
    with page.expect_download() as info:
        page.click("#dash-xlsx")
    path = tmp_path / "export.xlsx"
    info.value.save_as(path)
    book = load_workbook(path, read_only=True)
    rows = list(book["全部诉求"].iter_rows(values_only=True))
    assert rows[0][0] == "编号" and {r[0] for r in rows[1:]} == set(numbers)
    assert all("1381234567" not in str(v) for r in rows for v in r if v)
    link = page.locator("#rankings table:has(caption:text('诉求分类 · 受理量')) a.rank-link").first
    link.click()
    page.wait_for_url(re.compile(r"/console\?.*category=env.noise"))
    page.wait_for_function("() => document.querySelectorAll('#case-rows tr').length >= 3")
    assert seen == {"errors": [], "dialogs": []}
    # body staff of another body see their own (empty) figures, not the supervisor's
    other, seen_other = login(desk(chromium), site.base, "body2", "/console/dashboard")
    other.wait_for_selector("#rate-cards .card[data-rate='opened']")
    assert other.inner_text("#rate-cards .card[data-rate='opened'] .value") == "0"
    assert seen_other["errors"] == []
    context.close()


LIFT = ["7号楼电梯又坏了，关人了", "7号楼电梯坏了，人被关在里面", "7号楼的电梯坏了困住人",
        "7号楼电梯又坏了困人，请尽快修", "7号楼电梯坏了好几天，还关过人"]


def test_supervisor_opens_a_joint_case_from_an_alert_and_follows_it_both_ways(site, chromium):
    from bot.cases import hotspots

    add_staff(site.container, "super1")
    service = site.container.cases
    planted = [open_case(site.container, f"文化路{text}", category="urban.property",
                         area=("S1P1G1", "S1P1G2")[i % 2], address=f"77000{i}")
               for i, text in enumerate(LIFT)]
    hotspots.scan(service, hotspots.HotspotRules(min_cases=5, window_days=7), raise_alerts=True)
    context = desk(chromium)
    page, seen = login(context, site.base, "super1", "/console/dashboard", confirm="联合办理工单")
    page.wait_for_selector(".hot .joint-open")
    assert page.inner_text(".hot .joint-open") == "发起联合办理"
    page.select_option(".hot .joint-body", "B-CGJ")
    page.click(".hot .joint-open")
    page.wait_for_selector(".hot .joint-result a")
    result = page.inner_text(".hot .joint-result")
    assert "已发起联合办理工单" in result and "县城市管理局" in result and "本次加入 5 件" in result
    joint = page.inner_text(".hot .joint-result a")
    assert service.get(joint).joint and service.get(joint).body["code"] == "B-CGJ"
    page.click(".hot .joint-result a")
    page.wait_for_url(re.compile(r"/console/cases/"))
    page.wait_for_selector("#joint-members li.joint-member")
    assert page.locator("#joint-members li").count() == 5
    assert set(page.locator("#joint-members a").all_inner_texts()) == set(planted)
    page.click(f"#joint-members a:text('{planted[0]}')")
    page.wait_for_selector("#joint-case-link")
    assert page.inner_text("#joint-case-link") == joint and page.inner_text("#case-number") == planted[0]
    assert seen["errors"] == [] and seen["dialogs"] == []
    context.close()
