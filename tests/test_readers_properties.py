"""Properties of every file reader, over generated input (hypothesis).

The transcript readers (text, JSON, JSONL, CSV, auto-detection; any bytes, any of the
encodings people send, JSON nested to any depth) and the CLI's file readers (`bot classify
--file`, `bot evaluate --data`) never raise on bad content: each bad file or record is one
failure with a Chinese and an English reason, and what is read respects the bounds.

The normal run keeps the number of examples low and fixed (FUZZ_EXAMPLES, default 40,
derandomized); `make fuzz` runs more with random seeds.
"""
from __future__ import annotations

import csv
import io
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.catalog import Catalog
from bot.intake.decoding import decode
from bot.intake.errors import IntakeError
from bot.intake.reader import (FORMATS, MAX_JSON_DEPTH, MAX_TRANSCRIPT_CHARS, ReadFailure,
                               Transcript, read_bytes)
from bot.nlu.tabular import TableError
from bot.settings import ROOT

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, database=None,
                derandomize=not os.environ.get("FUZZ_RANDOM"),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

# Common simplified characters (all in GB2312), so GB18030 round trips are real Chinese.
HANZI = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过"
         "子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体"
         "制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内"
         "数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系楼吵停灯路坏修漏")
LABELS = ["话务员", "市民", "坐席", "来电人", "A", "B", "甲", "乙", "说话人1", "说话人2", "王先生"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "gb18030", "gbk"]

words = st.text(alphabet=HANZI + "0123456789，。？！ ", min_size=1, max_size=40)
stamps = st.sampled_from(["", "[00:01:23] ", "00:00:05 ", "2026-11-20 09:15:02 "])
turns = st.lists(st.tuples(stamps, st.sampled_from(LABELS), st.sampled_from(["：", ":"]), words),
                 min_size=1, max_size=12)
junk_text = st.text(max_size=300)          # any code point, surrogates included


def dialogue(parts) -> str:
    return "\n".join(f"{stamp}{label}{colon}{text}" for stamp, label, colon, text in parts)


def check_items(items) -> None:
    """What every reader promises, whatever it was given."""
    assert isinstance(items, list)
    for item in items:
        assert isinstance(item, (Transcript, ReadFailure))
        if isinstance(item, ReadFailure):
            assert item.error.zh and item.error.en
            # The reader's last line of defence stayed unused: every failure was foreseen.
            assert not item.error.en.startswith("unreadable content"), item.error.en
        else:
            assert 0 < sum(len(t.text) for t in item.turns) <= MAX_TRANSCRIPT_CHARS
            assert any(t.text.strip() for t in item.turns)
            assert len(item.id) <= 200
            # text that can be stored, logged and shown: no lone surrogates anywhere
            (item.id + item.full_text + json.dumps(item.meta, ensure_ascii=False)).encode("utf-8")


# ---------------------------------------------------------------------- any bytes, any format
@fuzz
@given(data=st.binary(max_size=4000), fmt=st.sampled_from(FORMATS),
       suffix=st.sampled_from(["", ".txt", ".json", ".jsonl", ".csv", ".tsv", ".xlsx", ".bin"]))
def test_any_bytes_in_any_format_never_raise(data, fmt, suffix):
    check_items(read_bytes(data, fmt=fmt, source="fuzz", name="fuzz", suffix=suffix))


@fuzz
@given(text=junk_text, encoding=st.sampled_from(ENCODINGS + ["shift_jis", "big5", "utf-16-le"]),
       fmt=st.sampled_from(FORMATS))
def test_any_text_in_any_encoding_never_raises(text, encoding, fmt):
    data = text.encode(encoding, errors="replace")
    check_items(read_bytes(data, fmt=fmt, source="fuzz", name="fuzz"))


# ---------------------------------------------------------------------- real dialogues
@fuzz
@given(parts=turns, encoding=st.sampled_from(ENCODINGS))
def test_a_dialogue_in_any_supported_encoding_reads_back(parts, encoding):
    text = dialogue(parts)
    assert decode(text.encode(encoding)) == text
    [item] = read_bytes(text.encode(encoding), fmt="auto", name="call", suffix=".txt")
    assert isinstance(item, Transcript)
    said = "".join(w for _, _, _, w in parts).replace(" ", "")
    got = "".join(t.text for t in item.turns).replace(" ", "")
    # every character the people said is kept (labels and stamps may go, nothing else)
    assert all(ch in got for ch in set(said)), (said, got)


# ---------------------------------------------------------------------- JSON
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                         junk_text, words)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.sampled_from(
        ["id", "text", "turns", "speaker", "start", "phone", "calls", "words", "内容", "x"]) | junk_text,
        inner, max_size=5)), max_leaves=30)


@fuzz
@given(doc=json_values)
def test_any_json_document_never_raises(doc):
    data = json.dumps(doc, ensure_ascii=False).encode("utf-8", errors="surrogatepass")
    check_items(read_bytes(data, fmt="json", name="doc"))
    check_items(read_bytes(data, fmt="auto", name="doc"))


@fuzz
@given(depth=st.integers(1, 3000), opener=st.sampled_from(['[', '{"turns": ', '{"calls": [']),
       closed=st.booleans())
def test_json_of_any_depth_is_refused_beyond_the_bound_and_never_crashes(depth, opener, closed):
    closer = {"[": "]", '{"turns": ': "}", '{"calls": [': "]}"}[opener]
    text = opener * depth + '"市民：停水了"' + (closer * depth if closed else "")
    items = read_bytes(text.encode(), fmt="json", name="deep")
    check_items(items)
    real_depth = depth * (2 if opener == '{"calls": [' else 1)
    if real_depth > MAX_JSON_DEPTH:
        assert len(items) == 1 and "嵌套超过" in items[0].error.zh


@fuzz
@given(lines=st.lists(st.one_of(json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
                                junk_text.filter(lambda s: "\n" not in s and "\r" not in s)),
                      min_size=1, max_size=8))
def test_jsonl_gives_one_item_per_line(lines):
    text = "\n".join(lines)
    data = text.encode("utf-8", errors="surrogatepass")
    items = read_bytes(data, fmt="jsonl", name="batch")
    check_items(items)
    try:
        content = decode(data)
    except IntakeError:
        return                                  # the whole file is one failure
    if len(items) == 1 and items[0].id == "batch":
        return                                  # ... or nothing in it at all
    assert len(items) == sum(1 for line in content.splitlines() if line.strip())


# ---------------------------------------------------------------------- CSV
cells = st.one_of(words, junk_text.map(lambda s: s.replace("\x00", "")), st.just(""),
                  st.integers(0, 2000).map(lambda n: "长" * n))


@fuzz
@given(rows=st.lists(st.lists(cells, min_size=1, max_size=4), min_size=1, max_size=8),
       delimiter=st.sampled_from([",", "\t"]))
def test_csv_gives_one_item_per_data_row(rows, delimiter):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows([["id", "text", "phone"], *rows])
    data = buffer.getvalue().encode("utf-8", errors="surrogatepass")
    items = read_bytes(data, fmt="csv", name="t", suffix=".tsv" if delimiter == "\t" else ".csv")
    check_items(items)
    try:
        content = decode(data)
    except IntakeError:
        return
    parsed = [r for r in csv.reader(io.StringIO(content), delimiter=delimiter) if any(c.strip() for c in r)]
    if len(parsed) == 1:                        # a header and nothing else: one failure
        assert len(items) == 1 and "只有表头" in items[0].error.zh
    else:
        assert len(items) == len(parsed) - 1


# ---------------------------------------------------------------------- the CLI's file readers
@pytest.fixture(scope="module")
def catalog():
    return Catalog.load(ROOT / "data")


@fuzz
@given(data=st.one_of(st.binary(max_size=3000),
                      st.lists(words, max_size=10).map(lambda ls: "\n".join(ls).encode("gb18030")),
                      junk_text.map(lambda s: s.encode("utf-8", errors="surrogatepass"))))
def test_classify_file_reader_returns_texts_or_refuses(tmp_path_factory, data):
    from bot.cli import MAX_CLASSIFY_CHARS, _texts_from_file

    path = tmp_path_factory.mktemp("classify") / "lines.txt"
    path.write_bytes(data)
    try:
        texts = _texts_from_file(str(path))
    except SystemExit as exit:
        assert exit.code == 2
        return
    assert texts and all(t and t == t.strip() and len(t) <= MAX_CLASSIFY_CHARS for t in texts)


@fuzz
@given(data=st.one_of(st.binary(max_size=3000),
                      st.lists(st.lists(cells, min_size=1, max_size=3), max_size=6).map(
                          lambda rows: "\n".join(",".join(r) for r in [["text", "label"], *rows])
                          .encode("utf-8", errors="surrogatepass"))),
       suffix=st.sampled_from([".csv", ".xlsx", ".tsv", ".txt"]))
def test_evaluate_reader_returns_rows_or_a_table_error(tmp_path_factory, catalog, data, suffix):
    from bot.nlu.evaluation import MAX_TEXT_CHARS, load_rows

    path = tmp_path_factory.mktemp("evaluate") / f"data{suffix}"
    path.write_bytes(data)
    try:
        rows, skipped = load_rows(path, catalog, None, None)
    except TableError as exc:
        assert str(exc)
        return
    assert skipped >= 0 and all(r.text and len(r.text) <= MAX_TEXT_CHARS for r in rows)
