"""Scanner: realistic flows with personal data typed into free text (service, CLI, intake,
outbox, watchdog) on a fresh database, then every text column of every table and every log
line through the detectors of bot/privacy.py. Only the contact fields may hold a number.

`assert_no_personal_data(url_or_engine, logs=...)` is the reusable part: any test that built
a database can end with it.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.cases import OpenCase, Rating
from bot.cases import watchdog
from bot.cases.models import CaseRow, EventRow
from bot.cases.outbox import LogSender, Outbox
from bot.intake.reader import read_text
from bot.intake.service import IntakeService
from bot.nlu import KeywordClassifier
from bot.privacy import ALLOWED_COLUMNS, find, scan_database
from tests.conftest import ROOT
from tests.test_privacy import CARD, ID18

BOT = str(Path(sys.executable).with_name("bot"))
PHONE, PHONE2, PHONE3 = "13912345678", "13787654321", "15011112222"
SECRETS = (PHONE, PHONE2, PHONE3, ID18, CARD, "京A12345", "0571-87654321")


def assert_no_personal_data(engine_or_url, *, logs: str = "", allowed=ALLOWED_COLUMNS) -> None:
    """Fail with the (masked) findings stored outside `allowed` columns or written to `logs`."""
    stored = scan_database(engine_or_url, allowed=allowed)
    logged = [f"{f.kind} {f.masked}" for f in find(logs)]
    assert not stored, "personal data stored unmasked:\n" + "\n".join(map(str, stored))
    assert not logged, "personal data in the logs: " + ", ".join(logged)


class Recorder:
    def __init__(self):
        self.sent: list[str] = []

    def send(self, address, text, *, case_number):
        self.sent.append(text)
        logging.getLogger("tests.sender").info("sent to %s: %s", address, text)


def service_flows(service, clock) -> None:
    """Open cases with personal data inside the text and take them through their lifecycle."""
    text = (f"我电话{PHONE}，身份证{ID18}，楼下烧烤店天天吵到凌晨两点，车牌京A12345的车还堵着门。"
            f"工资卡{CARD}")
    a = service.open_case(OpenCase(text=text, category="env.noise", area="S1P1G1",
                                   place=f"文化路28号 打{PHONE}", channel="telegram",
                                   address="777", actor="chat")).number
    service.act(a, "accept")
    service.act(a, "start")
    service.act(a, "note", text=f"商户老板电话{PHONE2}，车主身份证{ID18}")
    service.act(a, "add_info", actor="resident", text=f"补充：也可以打座机0571-87654321")
    service.act(a, "reply", text=f"已约谈商户，车牌京A12345已通知挪车，有事打{PHONE2}")
    service.act(a, "extend", to="3", text=f"需联系车主{PHONE2}协调")
    service.act(a, "resolve", text=f"已整改，回访电话{PHONE2}")
    service.act(a, "rate", rating=Rating(solved=False, satisfaction="不满意"),
                text=f"还是吵，打我{PHONE}")
    service.act(a, "transfer", to="B-CGJ", text=f"转城管，对接人{PHONE2}")
    # An anonymous report keeps no number at all, even one typed in the text.
    b = service.open_case(OpenCase(text=f"匿名反映：路口黑车拉客，我手机{PHONE3}别公开",
                                   category="env.noise", area="S1P1G1", channel="webchat",
                                   address="sess-anon", anonymous=True)).number
    service.act(b, "merge", to=a)
    # A referral whose explanation names a number, and an overdue case the watchdog escalates.
    service.open_case(OpenCase(text=f"家里着火了，我是{PHONE3}", category="env.noise",
                               refer=f"请立即拨打119，我们已记下您的电话{PHONE3}"))
    service.open_case(OpenCase(text=f"路灯坏了，联系{PHONE3}", category="urban.municipal_facility",
                               area="S1P3G1", contact=PHONE3))
    clock.advance(days=30)
    watchdog.run_once(service)


def intake_flow(container) -> None:
    intake = IntakeService(container.cases, container.catalog, KeywordClassifier(container.catalog))
    transcript = ("话务员：您好，代理热线，请讲。\n市民：我是文化路社区的，楼下烧烤店天天营业到凌晨两点，"
                  f"噪音太大睡不着，老板电话是幺三七八七六五四三二一。\n话务员：您贵姓，电话？\n"
                  f"市民：姓王，{PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}，身份证{ID18}。\n话务员：好的王女士。")
    first, _ = intake.confirm(intake.propose(read_text(transcript)))
    # A second call about the same matter: its proposal lists the first case as a duplicate.
    again = intake.propose(read_text(transcript.replace("凌晨两点", "凌晨三点")))
    shown = json.dumps(again.to_dict()["duplicates"], ensure_ascii=False)
    assert first.number in shown and not find(shown)


def cli(env, *args) -> subprocess.CompletedProcess:
    proc = subprocess.run([BOT, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_flows_leave_no_readable_number_outside_the_contact_fields(container, clock, caplog,
                                                                    tmp_path):
    caplog.set_level(logging.DEBUG)
    service = container.cases
    service_flows(service, clock)
    intake_flow(container)
    recorder = Recorder()
    box = Outbox(service, {"telegram": recorder}, default=LogSender())
    while box.drain_once().sent:
        pass
    assert recorder.sent and not find("\n".join(recorder.sent))
    for view in service.list_cases():
        assert not find(json.dumps(service.get(view.number).to_dict(), ensure_ascii=False))

    env = {**os.environ, "DATABASE_URL": str(container.engine.url.render_as_string(
        hide_password=False)), "BOT_VAR_DIR": str(tmp_path / "var")}
    opened = json.loads(cli(env, "-v", "case", "open", "--text",
                            f"人民路路灯坏了一排，我是{PHONE2}，身份证{ID18}", "--category",
                            "urban.municipal_facility", "--area", "S1P3G1", "--json").stdout)
    assert opened["contact"] == f"{PHONE2[:3]}****{PHONE2[-4:]}"
    acted = cli(env, "-v", "case", "act", opened["number"], "note", "--text",
                f"已联系{PHONE2}，车牌京A12345")
    shown = cli(env, "-v", "case", "show", opened["number"])
    listed = cli(env, "-v", "case", "list", "--json")
    sent = cli(env, "-v", "outbox", "--once")
    outputs = "\n".join(p.stdout + p.stderr for p in (acted, shown, listed, sent))
    assert "139" in outputs or "137" in outputs  # the commands did print the cases

    with container.engine.connect() as conn:
        contacts = set(conn.scalars(select(CaseRow.contact_phone)))
    assert {PHONE, PHONE2, PHONE3} <= contacts       # the readable copies are the contacts
    assert_no_personal_data(container.engine, logs=caplog.text + outputs)
    for secret in SECRETS:
        assert secret not in caplog.text + outputs


def test_the_scanner_finds_what_bypasses_the_service(sqlite_container):
    service = sqlite_container.cases
    service.open_case(OpenCase(text="楼下很吵", category="env.noise", area="S1P1G1"))
    assert_no_personal_data(sqlite_container.engine)
    with service._sessions() as s, s.begin():
        s.execute(update(EventRow).where(EventRow.seq == 1).values(
            internal_note=f"写漏了 {PHONE}", data={"nested": [f"卡{CARD}"]}))
    hits = scan_database(sqlite_container.engine)
    assert {(h.table, h.column, h.kind) for h in hits} == {
        ("events", "internal_note", "phone"), ("events", "data", "bank_card")}
    assert all(PHONE not in str(h) and CARD not in str(h) for h in hits)
    with pytest.raises(AssertionError, match="events.internal_note"):
        assert_no_personal_data(sqlite_container.engine)
    with pytest.raises(AssertionError, match="logs"):
        assert_no_personal_data(sqlite_container.engine, logs=f"user {PHONE}",
                                allowed=ALLOWED_COLUMNS | {"events.internal_note", "events.data"})


def test_scanner_runs_from_the_command_line_over_a_database_url(sqlite_container):
    url = sqlite_container.engine.url.render_as_string(hide_password=False)
    clean = subprocess.run([sys.executable, "-m", "bot.privacy", url], capture_output=True,
                           text=True, cwd=ROOT, timeout=60)
    assert clean.returncode == 0 and "0 finding" in clean.stdout
    with sqlite_container.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.exec_driver_sql(f"INSERT INTO notes (body) VALUES ('车牌京A12345')")
    dirty = subprocess.run([sys.executable, "-m", "bot.privacy", url], capture_output=True,
                           text=True, cwd=ROOT, timeout=60)
    assert dirty.returncode == 1 and "notes.body row 1: plate 京A***45" in dirty.stdout
    assert "京A12345" not in dirty.stdout
