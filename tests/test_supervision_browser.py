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
