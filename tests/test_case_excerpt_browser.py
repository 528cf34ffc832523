"""The case page's 来源对话 in headless Chromium against the real app: each line with its
speaker, script shown as text, the address masked; no section for a case without one."""
from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api", reason="pip install -r requirements/dev.txt")

from bot.cases import OpenCase
from tests.test_console_browser import SCRIPT, add_staff, chromium, desk, login, site  # noqa: F401


def test_the_case_page_shows_the_conversation_the_case_came_from(site, chromium):
    add_staff(site.container, "body1")
    opened = site.container.cases.open_case
    number = opened(OpenCase(
        text="文化路28号楼下烧烤店每天营业到凌晨两点", category="env.noise", area="S1P1G1",
        actor="chat", excerpt=({"who": "resident", "text": "就在文化路28号楼下" + SCRIPT},
                               {"who": "bot", "text": "好的，我来帮您登记。"}))).number
    bare = opened(OpenCase(text="楼下烧烤店太吵了", category="env.noise", area="S1P1G1")).number
    context = desk(chromium)
    page, seen = login(context, site.base, "body1", f"/console/cases/{number}")
    page.wait_for_selector("#case-excerpt:not([hidden])")
    assert page.inner_text("#case-excerpt h2") == "来源对话"
    lines = page.locator("#case-excerpt .excerpt-line")
    assert lines.count() == 2
    assert page.get_attribute("#case-excerpt .excerpt-line:nth-child(1)", "class") == \
        "excerpt-line resident"
    assert page.inner_text("#case-excerpt .excerpt-line.resident .excerpt-who") == "群众"
    assert page.inner_text("#case-excerpt .excerpt-line.bot .excerpt-who") == "智能助手"
    first = page.inner_text("#case-excerpt .excerpt-line.resident .excerpt-text")
    assert first.startswith("就在文化路**号楼下<img") and "28号" not in first
    assert page.locator("#case-excerpt img, #case-excerpt script").count() == 0
    assert page.evaluate("window.pwned") is None
    page.goto(f"{site.base}/console/cases/{bare}")
    page.wait_for_function("n => document.getElementById('case-number').textContent === n", arg=bare)
    assert page.is_hidden("#case-excerpt")
    assert seen == {"errors": [], "dialogs": []}
    context.close()
