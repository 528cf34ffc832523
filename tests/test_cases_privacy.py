"""The case service keeps personal data typed inside free text masked on write and in views;
the numbers found become the contact; an anonymous report keeps none; the 12345 type is set."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from bot.cases import InvalidInput, OpenCase, Rating
from bot.cases.models import CaseRow, EventRow, OutboxRow
from bot.cases.outbox import Outbox
from bot.cases.stats import compute
from bot.intake.duplicates import rank
from bot.intake.proposal import Proposal
from tests.test_privacy import ID18

COMPLAINT = f"我电话13912345678，身份证{ID18}，楼下烧烤店每天吵到凌晨两点，车牌京A12345的车还堵门"


class Recorder:
    def __init__(self):
        self.sent = []

    def send(self, address, text, *, case_number):
        self.sent.append((address, text))


def rows(service):
    with service._sessions() as s:
        case = s.scalars(select(CaseRow)).one()
        events = s.scalars(select(EventRow).order_by(EventRow.seq)).all()
        outbox = s.scalars(select(OutboxRow)).all()
        return case, events, outbox


def test_free_text_is_masked_on_write_and_the_phone_becomes_the_contact(service):
    view = service.open_case(OpenCase(text=COMPLAINT, category="env.noise", area="S1P1G1",
                                      place="文化路28号 电话13912345678"))
    case, events, outbox = rows(service)
    stored = " ".join([case.summary, case.text, case.place] +
                      [str(e.public_text) + str(e.data) for e in events] + [o.text for o in outbox])
    assert "13912345678" not in stored and ID18 not in stored and "京A12345" not in stored
    assert "139****5678" in case.text and "京A***45" in case.text and ID18[-4:] in case.text
    assert case.contact_phone == "13912345678"            # the one readable copy, a contact field
    assert (case.channel, case.address) == ("sms", "13912345678")
    assert view.contact == "139****5678"
    assert "13912345678" not in str(view.to_dict())


def test_a_given_contact_wins_over_numbers_in_the_text(service):
    service.open_case(OpenCase(text="有事打13912345678", category="env.noise",
                               contact="13800001111"))
    case, _, _ = rows(service)
    assert case.contact_phone == "13800001111" and "139****5678" in case.text


def test_an_anonymous_report_keeps_no_readable_number(service):
    view = service.open_case(OpenCase(text=COMPLAINT, category="env.noise", area="S1P1G1",
                                      channel="webchat", address="sess-1", anonymous=True,
                                      contact="13800001111"))
    case, events, _ = rows(service)
    assert case.contact_phone is None and view.contact is None
    assert "13912345678" not in case.text + case.summary + str([e.data for e in events])
    assert (case.channel, case.address) == ("webchat", "sess-1")


def test_actions_mask_what_handlers_and_residents_type(service):
    number = service.open_case(OpenCase(text="楼下很吵", category="env.noise", area="S1P1G1",
                                        contact="13800001111", channel="telegram",
                                        address="42")).number
    service.act(number, "accept")
    service.act(number, "start")
    service.act(number, "note", text="商户老板电话13712345678")
    service.act(number, "add_info", actor="resident", text=f"补充：我的身份证{ID18}")
    service.act(number, "reply", text="已联系车主，车牌粤BD12345")
    service.act(number, "resolve", text="已整改，回访请打0571-87654321")
    service.act(number, "rate", rating=Rating(solved=False, satisfaction="不满意"),
                text="还是吵，打我13912345678")
    _, events, outbox = rows(service)
    written = str([(e.public_text, e.internal_note, e.data) for e in events]) + str(
        [o.text for o in outbox])
    for secret in ("13712345678", ID18, "粤BD12345", "87654321", "13912345678"):
        assert secret not in written
    assert "137****5678" in written and "粤B****45" in written and "0571-****4321" in written
    shown = str(service.get(number).to_dict())
    assert "13712345678" not in shown and "137****5678" in shown


def test_views_mask_rows_written_before_masking_existed(service):
    number = service.open_case(OpenCase(text="楼下很吵", category="env.noise",
                                        area="S1P1G1")).number
    with service._sessions() as s, s.begin():
        s.execute(update(CaseRow).values(text="旧数据 13912345678", summary="旧 13912345678",
                                         place="京A12345门口"))
        s.execute(update(EventRow).values(internal_note="13912345678",
                                          data={"text": "13912345678"}))
    for view in (service.get(number), service.list_cases()[0],
                 service.open_cases_in("env.noise")[0]):
        shown = str(view.to_dict())
        assert "13912345678" not in shown and "京A12345" not in shown
        assert "139****5678" in view.summary
    assert "13912345678" not in str(service.get(number).public())


def test_outbox_masks_legacy_texts_when_it_sends(service):
    service.open_case(OpenCase(text="楼下很吵", category="env.noise", area="S1P1G1",
                               contact="13800001111", channel="telegram", address="42"))
    with service._sessions() as s, s.begin():
        s.execute(update(OutboxRow).values(text="旧消息 13912345678"))
    recorder = Recorder()
    box = Outbox(service, {"telegram": recorder})
    assert box.drain_once().sent == 2
    assert recorder.sent and all("13912345678" not in text for _, text in recorder.sent)
    assert all("139****5678" in text for _, text in recorder.sent)


def test_duplicates_and_proposals_show_masked_summaries(service):
    view = service.open_case(OpenCase(text=COMPLAINT, category="env.noise", area="S1P1G1"))
    view.summary = "楼下烧烤店吵 13912345678"      # a candidate built elsewhere, unmasked
    found = rank("楼下烧烤店每天吵到凌晨两点", [view], threshold=0.0)
    assert found and "13912345678" not in found[0].summary and "139****5678" in found[0].summary
    proposal = Proposal.from_dict({"key": "k", "summary": "s", "text": "t",
                                   "category": {"code": "env.noise"},
                                   "duplicates": [{"number": view.number,
                                                   "summary": "吵 13912345678"}]})
    assert "13912345678" not in str(proposal.to_dict()["duplicates"])


def test_case_type_is_predicted_given_shown_and_counted(service):
    asked = service.open_case(OpenCase(text="请问新生儿医保在哪里办理？", category="env.noise"))
    complained = service.open_case(OpenCase(text="楼下工地天天夜里施工，投诉多次没人管",
                                            category="env.noise"))
    given = service.open_case(OpenCase(text="楼下很吵", category="env.noise", case_type="举报"))
    assert (asked.type, complained.type, given.type) == ("咨询", "投诉", "举报")
    assert service.get(given.number).to_dict()["type"] == "举报"
    by_type = compute(service).to_dict()["by_type"]
    assert {k: v["opened"] for k, v in by_type.items()} == {"咨询": 1, "投诉": 1, "举报": 1}
    assert by_type["投诉"]["counts"]["assigned"] == 1


def test_unknown_case_type_is_refused(service):
    with pytest.raises(InvalidInput) as err:
        service.open_case(OpenCase(text="楼下很吵", category="env.noise", case_type="抱怨"))
    assert "咨询" in err.value.zh


def test_cli_accepts_shows_and_counts_the_type(sqlite_url, tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import ROOT

    bot = str(Path(sys.executable).with_name("bot"))
    env = {**os.environ, "DATABASE_URL": sqlite_url, "BOT_VAR_DIR": str(tmp_path / "var")}

    def run(*args):
        return subprocess.run([bot, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=120)

    assert run("db", "upgrade").returncode == 0
    opened = run("case", "open", "--text", "小区门口能不能加一个公交站，打13912345678",
                 "--category", "env.noise", "--type", "建议", "--json")
    assert opened.returncode == 0, opened.stderr
    view = json.loads(opened.stdout)
    assert view["type"] == "建议" and view["contact"] == "139****5678"
    assert "13912345678" not in opened.stdout
    shown = run("case", "show", view["number"])
    assert "(demand，建议)" in shown.stdout and "13912345678" not in shown.stdout
    stats = json.loads(run("stats", "--json").stdout)
    assert stats["by_type"]["建议"]["opened"] == 1
    assert "按类型受理：建议 1" in run("stats").stdout
    refused = run("case", "open", "--text", "太吵", "--category", "env.noise", "--type", "抱怨")
    assert refused.returncode == 2
