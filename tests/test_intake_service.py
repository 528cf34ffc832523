"""Propose → confirm through the real case service (SQLite): idempotency, referral, merge,
corrections, and batches that never stop and never open a half-filled case."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.cases.models import CaseRow
from bot.intake.errors import ConfirmConflict, IntakeError
from bot.intake.proposal import Proposal
from bot.intake.reader import read_bytes, read_path, read_text
from bot.intake.service import IntakeService
from bot.nlu import KeywordClassifier
from tests.intake_eval import DATA

NOISE = ("话务员：您好，代理热线，请讲。\n市民：我是文化路社区的，楼下烧烤店天天营业到凌晨两点，噪音太大睡不着。"
         "\n话务员：您贵姓，电话？\n市民：姓王，13812345678。希望管一管。\n话务员：好的王女士。")
FIRE = "话务员：您好。\n市民：救命，东湖花园7栋着火了，好大的烟！\n话务员：请马上拨打119。"


@pytest.fixture
def intake(sqlite_container) -> IntakeService:
    return IntakeService(sqlite_container.cases, sqlite_container.catalog,
                         KeywordClassifier(sqlite_container.catalog))


def count(container) -> int:
    with container.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(CaseRow))


def test_proposal_has_every_field(intake):
    p = intake.propose(read_text(NOISE))
    d = p.to_dict()
    assert d["category"]["code"] == "env.noise" and d["category"]["level1"] == "环境保护"
    assert d["kind"] == "demand" and d["area"] == "S1P1" and d["phone"] == "13812345678"
    assert d["name"] == "王女士" and d["urgency"]["level"] == "normal" and d["referral"] is None
    assert d["summary"].startswith("王女士反映：") and "烧烤店" in d["summary"]
    assert d["body"]["name"] and len(d["category"]["alternatives"]) >= 1
    assert Proposal.from_dict(d) == p


def test_confirm_opens_once_even_when_reimported(intake, sqlite_container):
    first, existing = intake.confirm(intake.propose(read_text(NOISE)))
    assert not existing and first.state == "assigned" and first.area["code"] == "S1P1"
    # the same call again, renamed and re-encoded with different spacing
    again = read_bytes(NOISE.replace("\n", "\r\n  ").encode("gb18030"), name="other-name")[0]
    second, existing = intake.confirm(intake.propose(again))
    assert existing and second.number == first.number and count(sqlite_container) == 1


def test_a_call_confirmed_again_with_other_content_changes_nothing(intake, sqlite_container, tmp_path):
    corrected = {"category": "env.cooking_fume", "name": "王先生", "address": "文化路8号"}
    first, existing = intake.confirm(intake.propose(read_text(NOISE)), corrected)
    assert not existing
    again, existing = intake.confirm(intake.propose(read_text(NOISE)), corrected)
    assert existing and again.number == first.number
    for edit, changed in (({}, ["诉求分类", "称呼", "地址"]), ({**corrected, "name": "王女士"}, ["称呼"]),
                          ({**corrected, "text": "楼下饭店油烟很大"}, ["诉求内容"])):
        with pytest.raises(ConfirmConflict) as info:
            intake.confirm(intake.propose(read_text(NOISE)), edit)
        assert info.value.number == first.number and info.value.changed == changed
    # a batch re-import of the call, which nobody edited, is the case imported before
    (tmp_path / "noise.txt").write_text(NOISE, encoding="utf-8")
    report = intake.run_batch(read_path(tmp_path / "noise.txt"))
    assert not report.failed and [o.case.number for o in report.existing] == [first.number]
    assert count(sqlite_container) == 1


def test_of_two_confirms_at_once_with_other_content_the_second_is_refused(intake, sqlite_container, monkeypatch):
    first, _ = intake.confirm(intake.propose(read_text(NOISE)))
    # the second confirm looked before the first had written: open_case finds the case itself
    real, looks = intake.cases.find_by_idempotency_key, iter([None])
    monkeypatch.setattr(intake.cases, "find_by_idempotency_key", lambda key: next(looks, real(key)))
    with pytest.raises(ConfirmConflict) as info:
        intake.confirm(intake.propose(read_text(NOISE)), {"category": "env.cooking_fume"})
    assert info.value.number == first.number and count(sqlite_container) == 1


def test_a_merge_confirmed_again_is_the_merged_case(intake, sqlite_container):
    target, _ = intake.confirm(intake.propose(read_text(NOISE)))
    other = intake.propose(read_text(NOISE.replace("姓王，13812345678", "姓李，13900001111")))
    merged, _ = intake.confirm(other, {"merge_into": target.number})
    again, existing = intake.confirm(other, {"merge_into": target.number})
    assert existing and again.number == merged.number and again.merged_into == target.number
    with pytest.raises(ConfirmConflict) as info:
        intake.confirm(other)
    assert info.value.changed == ["并单"]
    assert count(sqlite_container) == 2


def test_operator_corrections_win(intake):
    p = intake.propose(read_text(NOISE))
    view, _ = intake.confirm(p, {"category": "env.cooking_fume", "area": "S1P2", "phone": "0571-86620391",
                                 "name": "王女士", "summary": "王女士反映楼下饭店油烟和噪音"})
    assert view.category["code"] == "env.cooking_fume" and view.area["code"] == "S1P2"
    assert view.summary == "王女士反映楼下饭店油烟和噪音" and view.contact.endswith("0391")


def test_emergency_is_referred(intake):
    p = intake.propose(read_text(FIRE))
    assert p.urgency["level"] == "emergency" and p.urgency["hotline"] == "119"
    assert "119" in p.referral and p.category["code"] == "security.emergency"
    view, _ = intake.confirm(p)     # no phone needed to refer at once
    assert view.state == "referred"


def test_a_crisis_is_an_urgent_case_with_the_health_commission(intake):
    """As the chat records one: not referred, followed up by the body behind 12356."""
    p = intake.propose(read_text("市民：工钱讨了两年都讨不到，我真的不想活了。电话13812345678\n"
                                 "话务员：您先别着急，慢慢说。"))
    assert p.urgency["level"] == "crisis" and p.referral is None
    assert p.category["code"] == "security.emergency" and p.body["code"] == "B-WJW"
    view, _ = intake.confirm(p)
    assert (view.state, view.body["code"]) == ("assigned", "B-WJW")


def test_duplicates_and_merge(intake):
    first, _ = intake.confirm(intake.propose(read_text(NOISE)))
    other = NOISE.replace("姓王，13812345678", "姓李，13900001111").replace("凌晨两点", "凌晨三点")
    p = intake.propose(read_text(other))
    assert [d["number"] for d in p.duplicates] == [first.number] and p.duplicates[0]["score"] > 0.5
    view, _ = intake.confirm(p, {"merge_into": first.number})
    assert view.state == "merged" and view.merged_into == first.number


def test_unrelated_case_is_not_a_duplicate(intake):
    intake.confirm(intake.propose(read_text(NOISE)))
    p = intake.propose(read_text("市民：我是文化路社区的，广场舞音响太吵了，每天晚上七点到九点。电话13700001111"))
    assert all(d["score"] < 0.9 for d in p.duplicates)
    p = intake.propose(read_text("市民：幸福里小区停水了。电话13700001111"))
    assert p.duplicates == []


def test_mentioned_case_number_is_offered_for_merging(intake):
    first, _ = intake.confirm(intake.propose(read_text(NOISE)))
    p = intake.propose(read_text(f"市民：我之前反映过，编号{first.number}，还是吵，没人管。电话13700001111"))
    assert p.case_numbers == [first.number] and p.duplicates[0]["number"] == first.number


def test_nothing_is_opened_without_a_phone_or_a_category(intake, sqlite_container):
    p = intake.propose(read_text("市民：幸福里小区停水了，快来修。"))
    assert p.phone is None and any("电话" in w for w in p.warnings)
    with pytest.raises(IntakeError) as info:
        intake.confirm(p)
    assert "联系电话" in info.value.zh
    with pytest.raises(IntakeError):
        intake.confirm(p, {"phone": "12345"})
    with pytest.raises(IntakeError):
        intake.confirm(p, {"phone": "13800000000", "category": "no.such"})
    with pytest.raises(IntakeError):
        intake.confirm(p, {"phone": "13800000000", "merge_into": "20990101-0001"})
    assert count(sqlite_container) == 0


def test_batch_goes_on_and_reports_failures(intake, sqlite_container, tmp_path):
    tmp_path = tmp_path / "batch"
    tmp_path.mkdir()
    (tmp_path / "a_good.txt").write_text(NOISE, encoding="utf-8")
    (tmp_path / "b_empty.txt").write_bytes(b"")
    (tmp_path / "c_binary.bin").write_bytes(bytes(range(256)) * 10)
    (tmp_path / "d_nophone.txt").write_text("市民：幸福里小区停水了", encoding="utf-8")
    (tmp_path / "e_operator_only.txt").write_text("话务员：您好？\n话务员：听不到声音，挂断了。", encoding="utf-8")
    (tmp_path / "f_rows.csv").write_text("id,phone\n1,13800000000\n", encoding="utf-8")
    (tmp_path / "g_fire.txt").write_text(FIRE, encoding="gb18030")
    (tmp_path / "h_huge.txt").write_text("市民：" + "吵" * 1_100_000, encoding="utf-8")
    report = intake.run_batch(read_path(tmp_path))
    by_id = {o.id: o for o in report.outcomes}
    assert by_id["a_good"].case and by_id["g_fire"].case.state == "referred"
    failed = {o.id for o in report.failed}
    assert failed == {"b_empty", "c_binary", "d_nophone", "e_operator_only", "f_rows", "h_huge"}
    for o in report.failed:
        assert o.error.zh and o.error.en and o.to_dict()["error"]["zh"]
        assert o.to_dict()["case"] is None
    assert count(sqlite_container) == 2


def test_whole_test_set_imports_twice_without_doubles(intake, sqlite_container):
    items = read_path(DATA)
    first = intake.run_batch(items)
    opened = len(first.opened)
    assert opened >= 0.9 * len(items)
    second = intake.run_batch(read_path(DATA))
    assert not second.opened and len(second.existing) == opened
    assert count(sqlite_container) == opened
