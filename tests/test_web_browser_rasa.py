"""The full product in headless Chromium: `bot run` (real Rasa server + action server +
trained model), a report conversation on /chat, the case card, then a live update after a
handler's `CaseService.act(... 'reply' ...)`. Skips when models/current.tar.gz is missing."""
from __future__ import annotations

import re
import time

import pytest

from bot.container import Container
from bot.run import model_path
from bot.settings import ROOT, Settings
from tests.web_support import browser, phone, product

expect = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements/dev.txt").expect

SHOTS = ROOT / "var" / "screenshots"
DESCRIPTION = "文化路28号楼下烧烤店每天营业到凌晨两点，噪音太大睡不着"
# What the resident answers when the bot asks for a missing piece.
ANSWERS = [(re.compile(r"手机|电话|联系"), "13812345678"),
           (re.compile(r"地点|地址|哪里|位置|在哪"), "文化路社区文化路28号"),
           (re.compile(r"时间|什么时候|几点"), "每天晚上十点以后"),
           (re.compile(r"称呼|怎么称呼|姓"), "王先生")]
CONFIRM = re.compile(r"确认|提交|没问题|是的")


@pytest.mark.slow
@pytest.mark.rasa
def test_report_conversation_with_the_real_dialogue(tmp_path):
    if not model_path().is_file():
        pytest.skip(f"no trained model at {model_path()}: run `make model` (the dialogue's "
                    "model); tests/test_web_browser.py covers the page with a stand-in")
    with product(tmp_path) as (base, env, output, state), browser() as b:
        context = phone(b)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/chat")
        page.wait_for_selector("body[data-ready=yes]")
        page.fill("#input", DESCRIPTION)
        page.press("#input", "Enter")

        card = page.locator(".card")
        for _ in range(8):
            page.wait_for_selector(".typing", state="detached", timeout=30000)
            if card.count():
                break
            confirm = page.locator(".buttons button:enabled").filter(has_text=CONFIRM)
            if confirm.count():
                confirm.first.click()
                continue
            last = page.locator(".row.bot .bubble").last.inner_text()
            answer = next((a for pattern, a in ANSWERS if pattern.search(last)), None)
            assert answer, f"the dialogue asked something unexpected: {last!r}"
            page.fill("#input", answer)
            page.press("#input", "Enter")
        card.first.wait_for(timeout=10000)
        number = card.first.get_attribute("data-number")
        expect(card.first).to_contain_text("承办单位")
        expect(card.first).to_contain_text("噪声扰民")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "10_rasa_case_card.png"))

        settings = Settings.from_env({k: v for k, v in env.items() if isinstance(v, str)})
        cases = Container(settings).cases
        cookie = next(c for c in context.cookies() if c["name"] == "jj_chat")
        assert cookie["httpOnly"] and cases.owns(number, "webchat", cookie["value"].split(".")[0])
        started = time.monotonic()
        cases.act(number, "accept", actor="agent:A1")
        cases.act(number, "reply", actor="agent:A1", text="已联系商户，今晚起十点后停止营业")
        page.locator(".update .bubble", has_text="今晚起十点后停止营业").wait_for(timeout=2000)
        assert time.monotonic() - started < 2
        expect(card.first).to_contain_text("已签收", timeout=2000)
        page.screenshot(path=str(SHOTS / "11_rasa_live_update.png"))
        assert errors == []
        context.close()

