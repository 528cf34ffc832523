"""The case page's extras in headless Chromium against the real app: a template fills the reply
box and the reply reaches the case, an extension request is approved as asked, a resident's
photo is listed and downloads, and 并单 takes two clicks. No page errors, no CSP violations."""
from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api", reason="pip install -r requirements/dev.txt")

from bot.cases import OpenCase
from bot.cases.attachments import CaseAttachments
from bot.web.app import create_app
from tests.conftest import make_container
from tests.test_console_api import PASSWORD
from tests.web_support import browser, live_server, web_settings

# a real 1×1 grey JPEG (the browser must decode it: the thumbnail check below needs a width)
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb00430050373c463c32504641465a55505f78c882786e6e78f5"
    "afb991c8ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffc0000b08"
    "0001000101011100ffc40014000100000000000000000000000000000000ffc4001410010000000000000000000000"
    "0000000000ffda0008010100003f003fffd9")


@pytest.fixture
def site(tmp_path):
    container = make_container(f"sqlite:///{tmp_path / 'cases.db'}", tmp_path)
    container.staff.add("super1", "supervisor", PASSWORD, name="督办员")
    app = create_app(container, web=web_settings("http://127.0.0.1:9"))
    with live_server(app) as base:
        yield container, base
    container.engine.dispose()


def _open(container, text, address):
    return container.cases.open_case(OpenCase(
        text=text, category="env.noise", area="S1P1G1", channel="telegram", address=address,
        actor="chat")).number


def test_templates_extension_attachments_and_merge(site):
    container, base = site
    number = _open(container, "文化路28号楼下烧烤店每天营业到凌晨两点，噪音太大睡不着", "880001")
    twin = _open(container, "文化路28号烧烤店半夜还在营业，噪音太大吵得睡不着", "880002")
    container.cases.act(number, "accept", actor="staff:agent1")
    container.cases.act(number, "ask_extension", actor="staff:agent1", to="10", text="需要协调城管联合执法")
    photo = CaseAttachments(container.engine).file("telegram", "880001", kind="photo",
                                                   content=JPEG, mime_type="image/jpeg")
    with browser() as b:
        context = b.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("console", lambda m: problems.append(f"{m.text} {m.location.get('url')}") if m.type == "error" else None)
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(f"{base}/console/login?next=/console/cases/{number}")
        page.fill("#login-username", "super1")
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_selector("#template-picker option[value='category:env.noise:1']", state="attached")

        # reply template -> reply box -> sent as a public reply
        page.select_option("#template-picker", label="已联系")
        assert "已经和您取得联系" in page.inner_text("#template-preview")
        page.click("#template-use")
        assert not page.is_hidden("#action-form")
        assert page.input_value("#action-text").startswith("您好！县生态环境分局的工作人员已经和您取得联系")
        page.click("#action-submit")
        page.wait_for_selector("#timeline .event[data-action=reply]")

        # the pending extension request: refused through the page's own form, asked again,
        # then approved as asked
        assert "需要协调城管联合执法" in page.inner_text("#extension-info")
        page.click("#extension-refuse")
        assert page.inner_text("#action-form-title") == "驳回延期"
        page.fill("#action-text", "期限内可以办完，请抓紧")
        page.click("#action-submit")
        page.wait_for_selector("#timeline .event[data-action=refuse_extension]")
        page.wait_for_selector("#extras-extension", state="hidden")
        container.cases.act(number, "ask_extension", actor="staff:agent1", to="10", text="需要协调城管联合执法")
        page.reload()
        page.wait_for_selector("#extension-approve", state="visible")
        asked = container.cases.get(number).pending_extension
        page.click("#extension-approve")
        page.wait_for_selector("#timeline .event[data-action=extend]")
        assert page.is_hidden("#extras-extension")
        assert container.cases.get(number).due_at == asked["due_at"]

        # the resident's photo: a thumbnail and a download
        link = page.locator(f"#attachment-{photo.id}")
        assert link.get_attribute("href") == f"/api/staff/attachments/{photo.id}"
        # a function, not an expression: Playwright polls an expression with eval in the page,
        # which the CSP (no unsafe-eval) refuses whenever the image is not decoded at first look
        page.wait_for_function("() => document.querySelector('.attachment-thumb').naturalWidth > 0")
        with page.expect_download() as download:
            link.click()
        assert open(download.value.path(), "rb").read() == JPEG

        # 并单: the first click asks, the second merges
        page.click(f"#merge-{twin}")
        assert "确认并入" in page.inner_text(f"#merge-{twin}")
        assert container.cases.get(number).state == "accepted"
        page.click(f"#merge-{twin}")
        page.wait_for_selector(f"#fact-merged_into a:has-text('{twin}')")
        assert container.cases.get(number).state == "merged"
        context.close()
    assert [p for p in problems if not p.endswith("/favicon.ico")] == []
