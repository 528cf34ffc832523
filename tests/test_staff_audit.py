"""Audited reveals of personal data: policy first, a reason, one audit row per value, nothing
readable in the row or the log."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from bot.cases import CaseNotFound, InvalidInput, OpenCase
from bot.privacy import scan_database
from bot.staff.audit import Audit
from bot.staff.models import audit_log, staff_accounts
from bot.staff.principal import Role, Staff
from tests.helpers import open_case

PHONE = "13912345678"


@pytest.fixture
def people(container, clock):
    """Account rows (audit rows point at them); nobody logs in here, so no password hashing."""
    specs = {"body": ("sthj", Role.BODY, None, "B-SthJ"),
             "labor": ("ldjc", Role.BODY, None, "B-LDJC"),
             "operator": ("op1", Role.OPERATOR, None, None),
             "supervisor": ("boss", Role.SUPERVISOR, None, None),
             "admin": ("root", Role.ADMIN, None, None)}
    made = {}
    with container.engine.begin() as conn:
        for key, (username, role, agent, body) in specs.items():
            staff_id = conn.execute(insert(staff_accounts).values(
                username=username, role=role.value, agent_code=agent, body_code=body,
                password_hash="-", disabled=False, session_epoch=0, created_at=clock(),
                password_changed_at=clock()).returning(staff_accounts.c.id)).scalar_one()
            made[key] = Staff(staff_id, username, role, agent_code=agent, body_code=body)
    return made


@pytest.fixture
def audit(container):
    return Audit(container)


def rows(container) -> int:
    with container.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(audit_log)).scalar_one()


def test_a_reveal_returns_the_stored_value_and_writes_one_row(container, audit, people, clock):
    number = open_case(container.cases, contact=PHONE, contact_name="王建国", place="文化路28号3单元")
    body = people["body"]
    assert audit.reveal(body, number, "contact_phone", "需要电话联系群众", "10.0.0.7") == PHONE
    assert audit.reveal(body, number, "contact_name", "核实身份", None) == "王建国"
    assert audit.reveal(people["supervisor"], number, "place", "现场核查", "10.0.0.8") == \
        "文化路28号3单元"
    entries = audit.entries()
    assert [e["field"] for e in entries] == ["place", "contact_name", "contact_phone"]
    first = entries[-1]
    assert first == {"id": first["id"], "at": "2026-11-23T01:00:00Z", "username": "sthj",
                     "role": "body", "role_label": "承办单位", "action": "reveal",
                     "case_number": number, "field": "contact_phone", "field_label": "联系电话",
                     "reason": "需要电话联系群众", "address": "10.0.0.7"}
    assert PHONE not in str(entries) and "王建国" not in str(entries)


def test_another_bodys_case_is_answered_like_a_missing_one_and_logs_nothing(
        container, audit, people):
    wages = open_case(container.cases, category="labor.wage_arrears", contact=PHONE)
    for staff in (people["body"], people["admin"], people["operator"]):
        with pytest.raises(CaseNotFound):
            audit.reveal(staff, wages, "contact_phone", "需要电话联系群众", "10.0.0.7")
    with pytest.raises(CaseNotFound):
        audit.reveal(people["body"], "20991231-9999", "contact_phone", "需要电话联系群众", None)
    assert rows(container) == 0
    assert audit.reveal(people["labor"], wages, "contact_phone", "联系当事人", None) == PHONE


def test_an_operator_reveals_only_what_they_opened(container, audit, people):
    operator = people["operator"]
    typed = container.cases.open_case(OpenCase(text="来电反映楼下噪音", category="env.noise",
                                               contact=PHONE, actor=operator.actor)).number
    other = open_case(container.cases, contact="13800001111")
    assert audit.reveal(operator, typed, "contact_phone", "回拨确认诉求", None) == PHONE
    with pytest.raises(CaseNotFound):
        audit.reveal(operator, other, "contact_phone", "回拨确认诉求", None)
    assert rows(container) == 1


@pytest.mark.parametrize("field,reason", [
    ("contact_phone", ""), ("contact_phone", " 看 "), ("contact_phone", None),
    ("contact_phone", "很" * 201), ("text", "需要联系"), ("password_hash", "需要联系")])
def test_a_reason_is_required_and_only_personal_fields_are_revealed(
        container, audit, people, field, reason):
    number = open_case(container.cases, contact=PHONE)
    with pytest.raises(InvalidInput) as refused:
        audit.reveal(people["body"], number, field, reason, None)
    assert refused.value.zh and rows(container) == 0


def test_nothing_readable_reaches_the_row_or_the_log(container, audit, people, caplog):
    number = open_case(container.cases, contact=PHONE)
    caplog.set_level(logging.DEBUG)
    value = audit.reveal(people["body"], number, "contact_phone",
                         "群众说换了号码 13800009999，先打原号码", "10.0.0.7")
    assert value == PHONE
    assert PHONE not in caplog.text and "13800009999" not in caplog.text
    assert "138****9999" in audit.entries()[0]["reason"]
    assert scan_database(container.engine, tables={"audit_log"}) == []


def test_no_value_leaves_without_its_row(container, audit, people):
    number = open_case(container.cases, contact=PHONE)
    ghost = Staff(999_999, "ghost", Role.SUPERVISOR)     # no account row: the insert fails
    with pytest.raises(IntegrityError):
        audit.reveal(ghost, number, "contact_phone", "需要电话联系群众", None)
    assert rows(container) == 0


def test_entries_page_back_and_filter_by_case(container, audit, people):
    first = open_case(container.cases, contact=PHONE)
    second = open_case(container.cases, contact=PHONE)
    for number in (first, second, first):
        audit.reveal(people["supervisor"], number, "contact_phone", "督办核查", None)
    newest = audit.entries(limit=2)
    assert [e["case_number"] for e in newest] == [first, second]
    older = audit.entries(limit=2, before_id=newest[-1]["id"])
    assert [e["case_number"] for e in older] == [first]
    assert [e["case_number"] for e in audit.entries(case_number=first)] == [first, first]
