"""Reading transcripts in the forms they come in, and refusing bad input item by item."""
from __future__ import annotations

import json

import pytest

from bot.intake.errors import IntakeError
from bot.intake.reader import ReadFailure, Transcript, read_bytes, read_path, read_text
from tests.intake_eval import DATA, expected


def roles(t: Transcript) -> list[str]:
    return [turn.speaker_role for turn in t.turns]


def one(data: bytes, **kw) -> Transcript:
    items = read_bytes(data, **kw)
    assert len(items) == 1 and isinstance(items[0], Transcript), items
    return items[0]


def test_every_test_transcript_reads():
    items = read_path(DATA)
    failures = [i for i in items if isinstance(i, ReadFailure)]
    assert not failures, [str(f.error) for f in failures]
    assert len(items) == len(expected()) >= 60


@pytest.mark.parametrize("text, want", [
    ("话务员：您好，请讲。\n市民：我家停水了。", ["operator", "caller"]),
    ("坐席:您好\n来电人:我要投诉", ["operator", "caller"]),
    ("客服：您好\n用户：物业不管事", ["operator", "caller"]),
    ("接线员：您好\n群众：路灯坏了", ["operator", "caller"]),
    ("话务员：您好\n王先生：我反映个事", ["operator", "caller"]),
    ("A：您好，这里是代理热线，请讲。\nB：我家楼下太吵了\nA：请问您贵姓？\nB：姓李", ["operator", "caller"] * 2),
    ("甲：你好，我们村的路坏了\n乙：您好，请问您是哪个村的？\n甲：青石村", ["caller", "operator", "caller"]),
    ("说话人1 00:00:01 您好，请讲\n说话人2 00:00:03 我想咨询低保", ["operator", "caller"]),
])
def test_speaker_labels(text, want):
    assert roles(read_text(text)) == want


def test_timestamps_in_all_forms():
    t = read_text("[00:01:23] 话务员：您好\n00:01:25 市民：停电了\n2026-11-20 09:15:02 话务员：好的")
    assert [x.start for x in t.turns] == ["00:01:23", "00:01:25", "2026-11-20 09:15:02"]
    assert roles(t) == ["operator", "caller", "operator"]


def test_several_turns_on_one_line_and_both_colons():
    t = read_text("话务员：您好，请讲。市民:我们小区停水了。话务员：您贵姓？市民：姓王。")
    assert roles(t) == ["operator", "caller", "operator", "caller"]
    assert t.turns[3].text == "姓王。"


def test_plain_asr_text_has_no_speakers():
    t = read_text("您好这里是代理热线 喂你好我们村的路坏了")
    assert not t.has_speakers and t.turns[0].speaker_role == "unknown"


def test_form_fields_are_not_speakers():
    t = read_text("来电时间：2026-11-20 09:15\n来电号码：13800000000\n诉求内容：家里停电了")
    assert not t.has_speakers


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_encodings(encoding):
    t = one("话务员：您好\n市民：幸福里小区停水了".encode(encoding))
    assert t.turns[1].text == "幸福里小区停水了"


def test_json_turns_and_numeric_speakers():
    doc = [{"speaker": 0, "text": "您好，这里是代理热线，请讲", "start": 0.0},
           {"speaker": 1, "text": "我家停电了", "start": 2.5}]
    t = one(json.dumps(doc, ensure_ascii=False).encode())
    assert roles(t) == ["operator", "caller"] and t.turns[1].start == "2.5"


def test_jsonl_batch_keeps_going_after_a_bad_line():
    data = "\n".join([json.dumps({"id": "a", "text": "市民：停水了"}, ensure_ascii=False),
                      "{not json", json.dumps({"id": "c"}), json.dumps({"id": "d", "text": "路灯坏了"},
                                                                         ensure_ascii=False)])
    items = read_bytes(data.encode(), fmt="jsonl")
    assert [type(i).__name__ for i in items] == ["Transcript", "ReadFailure", "ReadFailure", "Transcript"]
    assert "JSON" in items[1].error.zh and items[2].id == "c"


def test_csv_rows_and_missing_columns():
    good = "编号,来电号码,通话内容\nr1,13800000000,市民：停水了\nr2,13800000001,\n".encode("gb18030")
    items = read_bytes(good, fmt="csv", name="shift")
    assert isinstance(items[0], Transcript) and items[0].meta["caller_number"] == "13800000000"
    assert isinstance(items[1], ReadFailure) and "缺少通话内容" in items[1].error.zh
    bad = read_bytes("编号,来电号码\nr1,13800000000\n".encode(), fmt="csv", name="shift")
    assert len(bad) == 1 and isinstance(bad[0], ReadFailure)
    assert "缺少转写文本列" in bad[0].error.zh and "no text column" in bad[0].error.en


def test_xlsx_batch():
    items = read_path(DATA / "batch_calls.xlsx")
    assert len(items) == 5 and all(isinstance(i, Transcript) for i in items)
    assert items[0].id == "x01" and items[0].meta["caller_number"] == "13588019302"


@pytest.mark.parametrize("data, zh", [
    (b"", "内容为空"),
    (b"   \n\n ", "内容为空"),
    (bytes(range(256)) * 40, "二进制"),
    ("话务员：您好\n市民：我家停水".encode() + b"\xff\xfe\xfa" + "了".encode(), "无法解码"),
    (b"PK\x03\x04garbage-not-a-zip", "XLSX"),
])
def test_bad_input_is_a_clear_error(data, zh):
    items = read_bytes(data, source="x", name="x")
    assert len(items) == 1 and isinstance(items[0], ReadFailure)
    error = items[0].error
    assert zh in error.zh and error.en  # Chinese for people, English for logs


def test_a_megabyte_transcript_is_refused(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text("市民：" + "我家楼下太吵了。" * 140_000, encoding="utf-8")
    assert path.stat().st_size > 1_000_000
    [item] = read_path(path)
    assert isinstance(item, ReadFailure) and "过长" in item.error.zh


def test_read_text_raises_on_empty():
    with pytest.raises(IntakeError):
        read_text("  ")


# ---------------------------------------------------------------------- hostile files (issue 15)
def failures(items) -> dict[str, str]:
    return {i.id: i.error.zh for i in items if isinstance(i, ReadFailure)}


@pytest.mark.parametrize("data, fmt, zh", [
    (b"[" * 10_000 + b"]" * 10_000, "json", "嵌套超过"),
    (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "json", "嵌套超过"),
    (b"[" * 100_000, "json", "嵌套超过"),                         # unterminated, too
    (b'{"id": ' + b"9" * 5_000 + b', "text": "caller: no water"}', "json", "超长的数字"),
    (b'{"id": {"x": 1}, "text": "caller: no water"}', "json", "字段 id"),
    (b'{"id": "c1", "text": 123}', "json", "应为文本"),
    (b'{"id": "c1", "phone": ["1", "2"], "text": "caller: no water"}', "json", "caller_number"),
    (b'[{"speaker": "A", "text": {"x": 1}}]', "json", "文本格式不对"),
    (b'[{"speaker": {"deep": 1}, "text": "hi"}]', "json", "speaker"),
    (b'{"id": "s", "text": "caller: \\ud800 noise"}', "json", "孤立的代理项"),
    (b'{"id": "s\\udfff", "text": "caller: noise"}', "jsonl", "孤立的代理项"),
    ("もしもし、家の前の道路が壊れています。至急お願いします。".encode("shift_jis"), "text", "编码"),
    ("您好，我家樓下燒烤店天天吵到凌晨兩點，請你們管一管。".encode("big5"), "text", "编码"),
    (b"text,phone\n", "csv", "只有表头"),
])
def test_hostile_content_is_one_failed_item_with_a_reason(data, fmt, zh):
    items = read_bytes(data, fmt=fmt, source="x", name="x")
    assert len(items) == 1 and isinstance(items[0], ReadFailure), items
    assert zh in items[0].error.zh and items[0].error.en


def test_json_just_within_the_depth_bound_reads():
    turns = [{"speaker": "市民", "text": [{"word": 1}, {"word": "号楼停水了"}]}]
    doc = {"calls": [{"id": "c1", "turns": turns, "extra": [[[[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]]]]}]}
    [item] = read_bytes(json.dumps(doc).encode(), fmt="json")
    assert isinstance(item, Transcript) and item.turns[0].text == "1号楼停水了"


def test_jsonl_deep_and_huge_lines_fail_alone():
    data = b"\n".join([b'{"id": "ok1", "text": "\xe5\xb8\x82\xe6\xb0\x91\xef\xbc\x9a\xe5\x81\x9c\xe6\xb0\xb4"}',
                       b"[" * 5_000, b'{"id": 1' + b"0" * 5_000 + b"}", b'{"id": "ok2", "text": "hello there"}'])
    items = read_bytes(data, fmt="jsonl", name="f")
    assert [type(i).__name__ for i in items] == ["Transcript", "ReadFailure", "ReadFailure", "Transcript"]
    assert "第 2 行" in items[1].error.zh and "line 3" in items[2].error.en


def test_a_720kb_csv_cell_fails_its_row_only():
    data = ("id,text,phone,note\n"
            f"big,{'吵' * 240_000},13800001111,\n"
            f"long-phone,市民：楼道灯坏了,{'1' * 2_000},\n"
            f"big-note,市民：楼道灯坏了,13800001111,{'注' * 240_000}\n"
            f"long-note,市民：路灯坏了,13800001111,{'注' * 3_000}\n"
            "ok,市民：幸福里停水了,13900001111,\n").encode()
    items = read_bytes(data, fmt="csv", name="t")
    assert [i.id for i in items] == ["big", "long-phone", "big-note", "long-note", "ok"]
    why = failures(items)
    assert "过长" in why["big"] and "caller_number 过长" in why["long-phone"]
    assert "“note”列过长" in why["big-note"]
    assert isinstance(items[3], Transcript) and isinstance(items[4], Transcript)


def test_a_cell_beyond_the_csv_limit_fails_its_row_and_the_next_rows_read(monkeypatch):
    import csv

    limit = csv.field_size_limit()
    try:
        csv.field_size_limit(1_000)
        data = f"id,text\nhuge,{'x' * 2_000}\nok,市民：幸福里停水了\n".encode()
        items = read_bytes(data, fmt="csv", name="t")
    finally:
        csv.field_size_limit(limit)
    assert "第 2 行无法读取" in failures(items)["t#2"]
    assert isinstance(items[-1], Transcript) and items[-1].id == "ok"


def test_a_directory_keeps_going_past_bad_files(tmp_path):
    (tmp_path / "1.json").write_bytes(b"[" * 50_000)
    (tmp_path / "2.txt").write_text("话务员：您好\n市民：我家停水了", encoding="utf-8")
    (tmp_path / "3.xlsx").write_text("not a workbook", encoding="utf-8")
    (tmp_path / "4.csv").write_bytes(b"\x00\x01\x02" * 100)
    items = read_path(tmp_path)
    assert [type(i).__name__ for i in items] == ["ReadFailure", "Transcript", "ReadFailure", "ReadFailure"]
    assert [i for i in items if isinstance(i, ReadFailure) and i.error.en.startswith("unreadable")] == []


def test_a_missing_path_is_a_failed_item(tmp_path):
    [item] = read_path(tmp_path / "nope.txt")
    assert isinstance(item, ReadFailure) and item.error.zh == "文件不存在"


@pytest.mark.parametrize("text", [
    "x" + " " * 99_000 + "y",                 # was quadratic: minutes
    "x" + "\t" * 99_000 + "y",
    "x  " * 33_000,
    "说话人1 00:00:01 " * 5_500,
    ("王" * 13 + "：") * 7_000,
    "2026-11-20 09:15:02 " * 4_900,
], ids=["spaces", "tabs", "space-pairs", "labels", "long-labels", "dates"])
def test_adversarial_text_near_the_size_limit_reads_quickly(text):
    import time

    started = time.monotonic()
    [item] = read_bytes(text.encode(), fmt="text")
    assert time.monotonic() - started < 3
    assert isinstance(item, Transcript)
