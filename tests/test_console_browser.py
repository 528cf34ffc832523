"""The case handlers' console in headless Chromium against the real app and a real database.

With a stand-in for Rasa (fast): every role logs in and lands where it should, another body's
case is the same "not found" as a missing number, a call without the CSRF token is refused and
changes nothing, five wrong passwords lock the account, a reveal asks why and is in the audit
log, and script in a reply or note is shown as text on the case page and in the resident's chat.

With the real product (`bot run`: Rasa, the action server, the trained model; one for the
module): an agent works a case from the case page while the resident's chat shows each step
live and the resident rates it through the dialogue, and the hand-off to a person end to end.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest

pytest.importorskip("playwright.sync_api", reason="pip install -r requirements/dev.txt")

from bot.cases import OpenCase
from bot.container import Container
from bot.run import model_path
from bot.settings import Settings
from bot.staff.handoff import RETURNED, WAIT_NOTICE
from tests.web_support import FakeRasa, browser, phone, product, stand_in_site

PASSWORD = "长密码-不常见-2026"
DESCRIPTION = "文化路28号楼下烧烤店每天营业到凌晨两点，噪音太大睡不着"
PHONE = "13812345678"
NOT_FOUND = "没有找到这个编号的诉求"
# username: (role, agent code, body code, name)
STAFF = {"agent1": ("agent", "A-S1P1", None, "王小军"),
         "body1": ("body", None, "B-SthJ", "生态环境分局办理人"),
         "body2": ("body", None, "B-CGJ", "城管局办理人"),
         "oper1": ("operator", None, None, "话务员甲"),
         "super1": ("supervisor", None, None, "督办员"),
         "admin1": ("admin", None, None, "管理员甲")}
ROLE_LABELS = {"agent": "代理员", "body": "承办单位", "operator": "话务员", "supervisor": "督办",
               "admin": "管理员"}
SCRIPT = '<img src=x onerror="window.pwned=1;alert(1)"><script>window.pwned=2;alert(2)</script>'


def add_staff(container, *names: str) -> None:
    for username in names or STAFF:
        role, agent, body, name = STAFF[username]
        container.staff.add(username, role, PASSWORD, name=name, agent_code=agent, body_code=body)


@dataclass
class Site:
    container: Container
    fake: FakeRasa
    base: str


@pytest.fixture(scope="module")
def chromium():
    with browser() as b:
        yield b


@pytest.fixture
def site(tmp_path):
    """The app with a stand-in for Rasa and its own SQLite store (tests add the accounts they
    use: each costs an Argon2 hash)."""
    with stand_in_site(tmp_path) as found:
        yield Site(*found)


def desk(chromium):
    """A staff member's desktop browser (its own cookie jar)."""
    context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                   viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10000)
    return context


def watch(page, confirm: str | None = None) -> dict:
    """What must never happen on a page: a script error, a CSP violation, a dialog (other than
    the page's own confirmation containing `confirm`, which is accepted)."""
    seen = {"errors": [], "dialogs": []}

    def dialog(d) -> None:
        if confirm and d.type == "confirm" and confirm in d.message:
            d.accept()
            return
        seen["dialogs"].append(d.message)
        d.dismiss()

    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("console", lambda m: seen["errors"].append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text else None)
    page.on("dialog", dialog)
    return seen


def login(context, base: str, username: str, path: str = "/console", confirm: str | None = None):
    """Open `path`, get sent to the login page, log in and come back: (page, what `watch` saw).
    With `path=None` log in at the login page itself and stay where it leads."""
    page = context.new_page()
    seen = watch(page, confirm)
    page.goto(base + (path or "/console/login"))
    page.wait_for_url(re.compile(r"/console/login(\?next=|$)"))
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/console/login" not in url)
    if path:
        assert re.fullmatch(re.escape(base + path) + r"(\?.*)?", page.url), page.url  # ?queue=
    page.wait_for_function("() => document.getElementById('staff-role').textContent !== ''")
    return page, seen


def open_case(container, text: str = DESCRIPTION, **fields) -> str:
    """A case of B-SthJ in agent A-S1P1's grid unless `fields` say otherwise."""
    fields = {"category": "env.noise", "area": "S1P1G1", "channel": "telegram",
              "address": "880001", "actor": "chat", **fields}
    return container.cases.open_case(OpenCase(text=text, **fields)).number


def fetch(page, method: str, url: str, body: dict | None = None, headers: dict | None = None):
    """A call from inside the page (its cookies, its origin): (status, JSON answer)."""
    return page.evaluate("""async ([method, url, body, headers]) => {
        const r = await fetch(url, {method, credentials: "same-origin",
            headers: {"Content-Type": "application/json", ...headers},
            body: body === null ? undefined : JSON.stringify(body)});
        let data = null; try { data = await r.json(); } catch (e) {}
        return [r.status, data]; }""", [method, url, body, headers or {}])


def act(page, action: str, text: str | None = None) -> None:
    """One lifecycle action from the case page's buttons and form."""
    events = page.locator("#timeline .event").count()
    page.click(f"#action-{action}")
    page.wait_for_selector("#action-form", state="visible")
    if text is not None:
        page.fill("#action-text", text)
    page.click("#action-submit")
    page.wait_for_function("n => document.querySelectorAll('#timeline .event').length > n", arg=events)
    assert page.inner_text("#action-message").startswith("已完成")


def shown_as_text(page, scope: str) -> None:
    assert page.locator(f"{scope} img, {scope} script").count() == 0
    assert page.evaluate("window.pwned") is None


# ------------------------------------------------------------------ with a stand-in for Rasa

def test_each_role_lands_on_its_page_and_logs_out(site, chromium):
    c = site.container
    add_staff(c)
    routed = open_case(c)                                   # B-SthJ's, agent A-S1P1's
    taken = open_case(c, "人民路社区路灯坏了一个星期，晚上出行很不方便", actor="staff:oper1",
                      category="urban.municipal_facility", area="S1P3G1", channel="hotline")
    mine = {"agent1": {routed}, "body1": {routed}, "body2": {taken}, "oper1": {taken},
            "super1": {routed, taken}, "admin1": set()}
    nav = {"agent": (False, False, False), "body": (False, False, False),
           "operator": (True, False, False), "supervisor": (True, True, False),
           "admin": (False, True, True)}                     # (intake, audit, staff)
    for username, (role, *_rest) in STAFF.items():
        context = desk(chromium)
        page, seen = login(context, site.base, username, None)
        assert page.inner_text("#staff-role") == ROLE_LABELS[role]
        assert page.inner_text("#staff-name") == STAFF[username][3]
        for link, shown in zip(("#nav-intake", "#nav-audit", "#nav-staff"), nav[role]):
            assert page.is_visible(link) is shown, (username, link)
        if role == "admin":
            admin_desk(site, page)
        else:
            queue_desk(site, page, role, mine[username])
        held = [k for k in context.cookies() if k["name"] == "jj_staff"]
        assert len(held) == 1 and held[0]["httpOnly"] and held[0]["sameSite"] == "Strict"
        page.click("#logout")
        page.wait_for_url(re.compile(r"/console/login$"))
        assert fetch(page, "GET", "/api/staff/me")[0] == 401
        context.add_cookies(held)               # the old cookie: the session ended on the server
        page.goto(site.base + "/console")
        page.wait_for_url(re.compile(r"/console/login\?next="))
        assert seen == {"errors": [], "dialogs": []}
        context.close()


def queue_desk(site, page, role: str, mine: set[str]) -> None:
    """The queues: only the cases of this staff member's scope; the hand-off desk for those who
    work hand-offs; the intake desk one click away for an operator."""
    assert page.url.split("?")[0] == site.base + "/console"
    page.wait_for_function("() => document.getElementById('page-info').textContent !== ''")
    page.click("#tab-all")                  # the first list is in: clicks are bound
    page.wait_for_selector("#tab-all[aria-selected=true]")
    page.wait_for_function("() => document.getElementById('list-status').textContent === ''")
    rows = set(page.eval_on_selector_all("#case-rows tr", "rs => rs.map(r => r.dataset.number)"))
    assert rows == mine, role
    assert page.is_visible("#list-empty") is (not rows)
    page.wait_for_selector("#handoffs[data-ready=yes]", state="attached")
    assert page.is_visible("#handoff-title") is (role in ("agent", "supervisor")), role
    if role == "operator":
        page.click("#nav-intake")
        page.wait_for_url(site.base + "/intake")
        page.wait_for_selector("#transcript")
        page.go_back()
        page.wait_for_function("() => document.getElementById('staff-role').textContent !== ''")


def admin_desk(site, page) -> None:
    """The accounts page: every account listed, and one added through its form."""
    assert page.url == site.base + "/console/staff"
    page.locator(".staff-row").first.wait_for()
    listed = page.eval_on_selector_all(".staff-row", "rs => rs.map(r => r.dataset.username)")
    assert sorted(listed) == sorted(STAFF)
    page.fill("#add-username", "agent2")
    page.select_option("#add-role", "agent")
    page.fill("#add-name", "张丽")
    page.fill("#add-agent", "A-S1P2")
    page.fill("#add-password", PASSWORD)
    page.click("#add-submit")
    page.wait_for_selector(".staff-row[data-username=agent2]")
    assert "已新增 agent2" in page.inner_text("#staff-message")
    added = site.container.staff.get("agent2")
    assert (added.role, added.agent_code) == ("agent", "A-S1P2")


def test_another_bodys_case_is_the_same_not_found_as_a_missing_number(site, chromium):
    add_staff(site.container, "body1", "body2")
    number = open_case(site.container)
    missing = "20991231-9999"
    messages = {}
    for username, path in (("body2", number), ("body2", missing), ("body1", missing)):
        context = desk(chromium)
        page, _ = login(context, site.base, username, f"/console/cases/{path}")
        page.wait_for_function("() => document.getElementById('case-message').textContent !== ''")
        messages[(username, path)] = page.inner_text("#case-message")
        assert page.is_hidden("#case") and number not in page.content()
        assert fetch(page, "GET", f"/api/staff/cases/{path}") == \
            [404, {"error": "没有找到这个编号的诉求，请核对编号。", "code": "not_found"}]
        context.close()
    assert len(set(messages.values())) == 1 and NOT_FOUND in messages[("body2", number)]

    context = desk(chromium)                    # its own body opens it
    page, _ = login(context, site.base, "body1", f"/console/cases/{number}")
    page.wait_for_selector("#case:not([hidden])")
    assert page.inner_text("#case-number") == number
    context.close()


def test_a_call_without_the_csrf_token_is_refused_and_changes_nothing(site, chromium):
    """And with it, a 100,000-character reply and an action the state does not allow."""
    c = site.container
    add_staff(c, "agent1")
    number = open_case(c)
    context = desk(chromium)
    page, seen = login(context, site.base, "agent1", f"/console/cases/{number}")
    page.wait_for_selector("#action-accept")
    before = c.cases.get(number)
    shown = page.locator("#timeline .event").count()
    url = f"/api/staff/cases/{number}/actions"
    for headers in ({}, {"X-CSRF-Token": "not-the-token"}):
        status, answer = fetch(page, "POST", url, {"action": "accept"}, headers)
        assert status == 403 and answer["code"] == "csrf" and "操作没有执行" in answer["error"]
    status, answer = fetch(page, "POST", f"/api/staff/cases/{number}/reveal",
                           {"field": "contact_phone", "reason": "想看看"})
    assert status == 403 and answer["code"] == "csrf"
    assert fetch(page, "POST", "/api/staff/logout")[0] == 403      # the session stays too
    token = {"X-CSRF-Token": page.evaluate("() => window.Console.csrf")}
    status, answer = fetch(page, "POST", url, {"action": "reply", "text": "长" * 100_000}, token)
    assert status == 413 and answer["code"] and "5000" in answer["error"]
    status, answer = fetch(page, "POST", url, {"action": "resolve", "text": "已处理"}, token)
    assert (status, answer["code"]) == (409, "illegal_transition") and "不能执行" in answer["error"]
    after = c.cases.get(number)
    assert (after.state, len(after.events)) == (before.state, len(before.events))
    assert after.state == "assigned"
    page.reload()
    page.wait_for_selector("#action-accept")
    assert page.locator("#timeline .event").count() == shown
    act(page, "accept")                         # the page itself sends the token
    assert c.cases.get(number).state == "accepted"
    assert seen == {"errors": [], "dialogs": []}
    context.close()


def test_five_wrong_passwords_lock_the_account(site, chromium):
    add_staff(site.container, "agent1")
    context = desk(chromium)
    page = context.new_page()
    page.goto(site.base + "/console/login")
    for attempt in range(6):
        page.fill("#login-username", "agent1")
        page.fill("#login-password", PASSWORD if attempt == 5 else f"错的密码-{attempt}-试试看")
        page.click("#login-submit")
        page.wait_for_function("() => !document.getElementById('login-submit').disabled"
                               " && document.getElementById('login-message').textContent !== '正在登录…'")
        message = page.inner_text("#login-message")
        if attempt < 4:
            assert message == "用户名或密码不正确，请重新输入。", attempt
        else:                                   # the fifth failure locks, and says so
            assert re.fullmatch(r"登录失败次数过多，已暂时锁定，请 1[45] 分钟后再试。", message), message
    assert page.url.endswith("/console/login")
    assert not any(cookie["name"] == "jj_staff" for cookie in context.cookies())
    context.close()


def test_a_reveal_asks_why_shows_the_phone_and_is_in_the_audit_log(site, chromium):
    add_staff(site.container, "agent1", "super1")
    number = open_case(site.container, contact=PHONE, contact_name="王先生")
    context = desk(chromium)
    page, seen = login(context, site.base, "agent1", f"/console/cases/{number}")
    page.wait_for_selector("#reveal-contact_phone")
    masked = page.inner_text("#fact-contact_phone")
    assert PHONE not in masked and masked.endswith("5678")
    page.click("#reveal-contact_phone")
    page.wait_for_selector("#reveal-form", state="visible")
    assert "原因" in page.inner_text("#reveal-title")
    page.fill("#reveal-reason", "嗯")                          # too short: asked again
    page.click("#reveal-submit")
    assert "原因" in page.inner_text("#reveal-message")
    assert page.inner_text("#fact-contact_phone") == masked
    reason = "需要电话联系群众核实噪音时段"
    page.fill("#reveal-reason", reason)
    page.click("#reveal-submit")
    page.wait_for_selector("#fact-contact_phone.revealed")
    assert page.inner_text("#fact-contact_phone") == PHONE
    assert page.is_hidden("#reveal-form") and "已记录" in page.inner_text("#reveal-message")
    page.goto(site.base + "/console/audit")                     # not for an agent
    page.wait_for_function("() => document.getElementById('audit-message').textContent !== ''")
    assert "只有督办和管理员" in page.inner_text("#audit-message")
    assert page.locator(".audit-entry").count() == 0
    assert seen == {"errors": [], "dialogs": []}
    context.close()

    context = desk(chromium)
    page, _ = login(context, site.base, "super1", "/console/audit")
    row = page.locator(".audit-entry")
    row.first.wait_for()
    assert row.count() == 1
    cells = row.first.locator("td").all_inner_texts()
    assert cells[1:] == ["agent1", "代理员", number, "联系电话", reason, "127.0.0.1"]
    assert PHONE not in page.content()
    context.close()


def test_script_in_a_reply_or_note_is_text_on_the_case_page_and_in_the_chat(site, chromium):
    add_staff(site.container, "agent1")
    resident = phone(chromium)
    chat = resident.new_page()
    chat_seen = watch(chat)
    chat.goto(site.base + "/chat")
    chat.wait_for_selector("body[data-ready=yes]")
    chat.fill("#input", DESCRIPTION)
    chat.press("#input", "Enter")
    chat.click(".buttons button:has-text('确认提交')")
    number = chat.locator(".card").get_attribute("data-number")

    context = desk(chromium)
    page, seen = login(context, site.base, "agent1", f"/console/cases/{number}")
    act(page, "accept")
    act(page, "start")
    act(page, "reply", "您好，" + SCRIPT)
    act(page, "note", "内部：" + SCRIPT)
    assert page.locator("#timeline .public-text").first.inner_text().endswith(SCRIPT)
    assert page.locator("#timeline .internal-text").first.inner_text().endswith(SCRIPT)
    shown_as_text(page, "#timeline")
    page.reload()                               # as loaded from the server, too
    page.wait_for_selector("#timeline .internal-text")
    assert SCRIPT in page.inner_text("#timeline")
    shown_as_text(page, "#case")

    update = chat.locator(".update .bubble", has_text="您好，<img")
    update.wait_for(timeout=5000)
    assert update.inner_text().endswith(SCRIPT)
    assert "内部" not in chat.inner_text("#log")               # a note never reaches the resident
    shown_as_text(chat, "#log")
    chat.wait_for_timeout(300)                  # an onerror would have fired by now
    assert chat.evaluate("window.pwned") is None and page.evaluate("window.pwned") is None
    assert seen == chat_seen == {"errors": [], "dialogs": []}
    context.close()
    resident.close()


# ------------------------------------------------------------------ with the real product

ANSWERS = [(re.compile(r"手机|电话|联系"), PHONE),
           (re.compile(r"地点|地址|哪里|位置|在哪"), "文化路社区文化路28号"),
           (re.compile(r"时间|什么时候|几点"), "每天晚上十点以后"),
           (re.compile(r"称呼|怎么称呼|姓"), "王先生")]
CONFIRM = re.compile(r"确认|提交|没问题|是的")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """One `bot run` for the module (Rasa is slow to start) and a container on its store."""
    if not model_path().is_file():
        pytest.skip(f"no trained model at {model_path()}: run `make model`")
    tmp = tmp_path_factory.mktemp("product")
    with product(tmp) as (base, env, output, state):
        settings = Settings.from_env({k: v for k, v in env.items() if isinstance(v, str)})
        container = Container(settings)
        container.staff.add("duty1", "agent", PASSWORD, name="周建国",
                            agent_code=container.catalog.agent_at(None, "center").code)
        yield base, container
        container.engine.dispose()


def answered(chat, say) -> None:
    """Say something (`say()` types or clicks) and wait until the app has answered it."""
    mine = chat.locator(".row.me").count()
    say()
    chat.wait_for_function("n => document.querySelectorAll('.row.me').length > n", arg=mine)
    chat.wait_for_selector(".typing", state="detached", timeout=30000)


def typed(chat, words: str) -> None:
    def say() -> None:
        chat.fill("#input", words)
        chat.press("#input", "Enter")
    answered(chat, say)


def report_through_the_dialogue(chat) -> str:
    """Answer the real dialogue until it opens the case; returns the case number."""
    typed(chat, DESCRIPTION)
    card = chat.locator(".card")
    for _ in range(8):
        if card.count():
            break
        confirm = chat.locator(".buttons button:enabled").filter(has_text=CONFIRM)
        if confirm.count():
            answered(chat, confirm.first.click)
            continue
        last = chat.locator(".row.bot .bubble").last.inner_text()
        answer = next((a for pattern, a in ANSWERS if pattern.search(last)), None)
        assert answer, f"the dialogue asked something unexpected: {last!r}"
        typed(chat, answer)
    card.first.wait_for(timeout=10000)
    return card.first.get_attribute("data-number")


def open_chat(chromium, base: str):
    context = phone(chromium)
    chat = context.new_page()
    seen = watch(chat)
    chat.goto(base + "/chat")
    chat.wait_for_selector("body[data-ready=yes]")
    return context, chat, seen


@pytest.mark.slow
@pytest.mark.rasa
def test_agent_works_the_case_while_the_chat_shows_it_live_and_the_resident_rates(real, chromium):
    base, c = real
    resident, chat, chat_seen = open_chat(chromium, base)
    number = report_through_the_dialogue(chat)
    agent = c.cases.get(number).agent["code"]
    c.staff.add("agent-r", "agent", PASSWORD, name="代理员", agent_code=agent)

    context = desk(chromium)
    page, seen = login(context, base, "agent-r", "/console")
    page.wait_for_selector(f"#case-rows tr[data-number='{number}']")   # in 待签收
    page.click(f"#case-rows tr[data-number='{number}'] a")
    page.wait_for_url(f"{base}/console/cases/{number}")
    page.wait_for_selector("#action-accept")
    act(page, "accept")
    chat.locator(".card", has_text="已签收").wait_for(timeout=5000)
    act(page, "start")
    started = time.monotonic()
    act(page, "reply", "已联系商户，今晚起十点后停止营业")
    chat.locator(".update .bubble", has_text="今晚起十点后停止营业").wait_for(timeout=5000)
    took = time.monotonic() - started
    assert took < 2, f"the reply took {took:.2f} s to reach the chat (target: 2 s)"
    act(page, "resolve", "商户已承诺十点后停止营业，城管将持续巡查")
    chat.locator(".update .bubble", has_text="欢迎回复评价").wait_for(timeout=5000)
    assert c.cases.get(number).state == "resolved"

    # the resolved update offers one-tap answers to "问题解决了吗？"; then the dialogue's buttons
    answered(chat, chat.locator("#quick button", has_text="问题解决了").click)
    chat.locator(".buttons button:enabled", has_text="基本满意").wait_for(timeout=10000)
    answered(chat, chat.locator(".buttons button:enabled", has_text="满意").first.click)
    chat.locator(".bubble", has_text="感谢您的评价").wait_for(timeout=30000)
    rating = c.cases.get(number).events[-1]
    assert (rating.action, rating.actor) == ("rate", "resident")
    assert rating.data.get("solved") is True and rating.data.get("satisfaction") == "满意", rating.data
    page.wait_for_selector("#timeline .event[data-action=rate]", timeout=5000)  # live on the page
    assert seen == chat_seen == {"errors": [], "dialogs": []}
    print(f"\nconsole reply to open chat page: {took:.2f} s")
    context.close()
    resident.close()


@pytest.mark.slow
@pytest.mark.rasa
def test_handoff_end_to_end(real, chromium):
    base, c = real
    context = desk(chromium)
    page, seen = login(context, base, "duty1", "/console", confirm="转回智能助手")
    page.wait_for_selector("#handoffs[data-ready=yes]:not([hidden])")
    assert page.locator(".handoff-item").count() == 0

    resident, chat, chat_seen = open_chat(chromium, base)
    typed(chat, "转人工")
    chat.locator(".bubble", has_text="已为您转接人工代理员").wait_for(timeout=30000)

    item = page.locator(".handoff-item")        # appears without a reload
    item.first.wait_for(timeout=5000)
    assert item.count() == 1 and item.first.get_attribute("data-state") == "waiting"
    item.first.click()
    page.wait_for_selector("#handoff-panel:not([hidden])")
    page.click("#handoff-take")
    page.wait_for_selector("#handoff-panel[data-state=active]")
    page.fill("#handoff-text", "您好，我是代理员周建国，请问有什么可以帮您？")
    page.click("#handoff-send")
    page.wait_for_selector(".handoff-message.staff")

    person = chat.locator(".row.bot.person .bubble", has_text="我是代理员周建国")
    person.wait_for(timeout=5000)
    said = chat.locator(".row.bot .bubble").count()
    typed(chat, "我家楼道的灯坏了好几天了")
    page.locator(".handoff-message.resident", has_text="楼道的灯坏了").wait_for(timeout=5000)
    chat.wait_for_timeout(500)
    since = chat.locator(".row.bot .bubble").all_inner_texts()[said:]
    assert set(since) <= {WAIT_NOTICE}, since       # the person's: Rasa was not asked

    page.click("#handoff-return")
    page.wait_for_selector("#handoff-panel[data-state=closed]")
    chat.locator(".bubble", has_text=RETURNED).wait_for(timeout=5000)
    answered = chat.locator(".row.bot").count()
    typed(chat, "你好")
    chat.wait_for_function("n => document.querySelectorAll('.row.bot').length > n", arg=answered)
    assert chat.locator(".row.bot .bubble").last.inner_text() not in (WAIT_NOTICE, RETURNED)
    assert page.locator(".handoff-message.resident", has_text="你好").count() == 0
    assert chat.locator(".row.bot.person").count() == 1
    assert seen == chat_seen == {"errors": [], "dialogs": []}
    context.close()
    resident.close()
