"""The chat page in headless Chromium on a phone-sized screen, with a stand-in for Rasa's REST
channel (the real stack is in test_web_browser_rasa.py). Screenshots go to var/screenshots/."""
from __future__ import annotations

import time

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements/dev.txt").expect

from bot.settings import ROOT
from tests.web_support import browser, phone, stand_in_site

SHOTS = ROOT / "var" / "screenshots"
DESCRIPTION = "文化路28号楼下烧烤店每天营业到凌晨两点，噪音太大睡不着"


@pytest.fixture
def site(tmp_path):
    with stand_in_site(tmp_path) as found:
        yield found


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def open_chat(context, base):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/chat")
    page.wait_for_selector("body[data-ready=yes]")
    return page, errors


def test_report_conversation_case_card_and_live_update(site):
    container, fake, base = site
    with browser() as b:
        context = phone(b)
        page, errors = open_chat(context, base)
        assert "小助手" in page.locator(".row.bot .bubble").first.inner_text()
        shot(page, "01_welcome")

        page.locator("#quick button", has_text="我要反映问题").click()
        page.wait_for_selector("text=请说说您遇到了什么问题")
        page.fill("#input", DESCRIPTION)
        page.press("#input", "Enter")
        page.wait_for_selector(".buttons button:has-text('确认提交')")
        shot(page, "02_read_back")
        page.click(".buttons button:has-text('确认提交')")

        card = page.locator(".card")
        card.wait_for()
        number = card.get_attribute("data-number")
        expect(card).to_contain_text("承办单位")
        text = card.inner_text()
        assert number in text and "环境保护 · 噪声扰民" in text and "已派单" in text
        assert "办结期限" in text and "前" in text and "烧烤店" in text
        shot(page, "03_case_card")

        started = time.monotonic()
        container.cases.act(number, "accept", actor="agent:A1")
        container.cases.act(number, "reply", actor="agent:A1", text="已联系商户，今晚起十点后停止营业")
        update = page.locator(".update .bubble", has_text="今晚起十点后停止营业")
        update.wait_for(timeout=2000)
        assert time.monotonic() - started < 2
        expect(card).to_contain_text("已签收", timeout=2000)
        assert "最新进展" in card.inner_text()
        shot(page, "04_live_update")
        assert errors == []
        context.close()


def test_update_shown_on_return_after_the_tab_was_closed(site):
    container, fake, base = site
    with browser() as b:
        context = phone(b)
        page, _ = open_chat(context, base)
        page.fill("#input", DESCRIPTION)
        page.press("#input", "Enter")
        page.click(".buttons button:has-text('确认提交')")
        number = page.locator(".card").get_attribute("data-number")
        page.close()

        container.cases.act(number, "accept", actor="agent:A1")
        container.cases.act(number, "extend", actor="agent:A1", to="10", text="需要协调多个部门")
        deadline = time.monotonic() + 5
        while container.outbox({}).counts().get("pending") and time.monotonic() < deadline:
            time.sleep(0.1)

        page, errors = open_chat(context, base)          # same cookie jar: the same resident
        page.wait_for_selector(".update .bubble:has-text('延长至')")
        assert page.locator(".section").inner_text() == "您的诉求（1 件）"
        assert page.locator(f".card[data-number='{number}']").count() == 1
        assert page.locator("text=以上是您离开期间的新进展").count() == 1
        shot(page, "05_on_return")
        page.close()

        page, _ = open_chat(context, base)               # acknowledged: not shown twice
        page.wait_for_selector(".card")
        assert page.locator(".update").count() == 0
        assert errors == []
        context.close()

        stranger = phone(b)                              # another resident sees nothing of it
        page, _ = open_chat(stranger, base)
        assert page.locator(".card").count() == 0 and page.locator(".update").count() == 0
        stranger.close()


def test_markup_is_refused_or_shown_as_text_and_rasa_down_is_polite(site):
    container, fake, base = site
    with browser() as b:
        context = phone(b)
        page, errors = open_chat(context, base)
        page.fill("#input", "<script>window.pwned=1</script>")
        page.press("#input", "Enter")
        page.wait_for_selector(".note.error:has-text('网页代码')")
        page.fill("#input", "请显示标记")
        page.press("#input", "Enter")
        page.wait_for_selector(".bubble:has-text('粗体')")
        bubble = page.locator(".row.bot .bubble").last
        assert bubble.inner_text().startswith("<img src=x")
        assert page.locator(".log img, .log b, .log script").count() == 0
        assert page.evaluate("window.pwned") is None

        page.fill("#input", "   ")
        page.press("#input", "Enter")
        assert "还没有输入" in page.locator("#hint").inner_text()
        page.fill("#input", "好" * 5001)
        assert page.locator("#input").input_value() == "好" * 5000   # maxlength holds it

        fake.mode = "down"
        page.fill("#input", "我要反映问题")
        page.press("#input", "Enter")
        page.wait_for_selector(".bubble:has-text('您的话我们已经记下了')")
        shot(page, "06_rasa_down")
        fake.mode = "up"
        page.wait_for_selector(".bubble:has-text('请说说您遇到了什么问题')", timeout=15000)
        assert errors == []
        context.close()
