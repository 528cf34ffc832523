"""No transcript ever yields an internal error: generated transcripts (any speakers and labels,
punctuation or none, places the county knows and places it does not, no caller turns, odd
unicode, several encodings) go through reader → extract and give a proposal's facts or an
`IntakeError`, never anything else."""
from __future__ import annotations

from functools import lru_cache

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.catalog import Catalog
from bot.intake.errors import IntakeError
from bot.intake.extract import SUMMARY_LIMIT, Extraction, caller_sentences, extract
from bot.intake.places import PlaceMatcher
from bot.intake.reader import ReadFailure, Transcript, read_bytes, read_text
from bot.nlu.urgency import LEVELS, assess
from bot.settings import ROOT

LABELS = ["话务员", "坐席", "客服", "接线员", "市民", "来电人", "群众", "王先生", "李女士", "A", "B", "甲", "乙",
          "说话人1", "说话人2", "spk_0", "spk_1", "0", "1", "张三", "user", "agent"]
KNOWN_PLACES = ["文化路社区", "幸福里小区3栋2单元", "滨河社区", "青石村二组", "东湖花园7栋", "河口", "人民路和文化路路口"]
UNKNOWN_PLACES = ["金桂园小区8栋501室", "**小区", "五里村三组", "建设路与解放路交叉口", "家福超市门口", "某某花园",
                  "阳光100小区", "X小区3单元", "县医院对面", "工业园区3号路"]
CALLER = ["楼下烧烤店太吵了", "我家停水两天了", "包工头欠了三个月工钱", "电梯又坏了困住了人", "有人拿刀在砍人 好多血",
          "仓库冒黑烟 看不到火", "我不想活了", "再不管我就炸了你们办公室", "气得我要爆炸了", "我电话是一三九 一二三四 五六七八",
          "我姓王", "希望你们尽快处理", "路灯坏了一个月", "没有了 谢谢", "嗯", "对对对", "13812345678", "编号20261122-0007"]
OPERATOR = ["您好，群众事务代理热线，请讲", "请问您贵姓", "具体哪个位置", "先生您别着急", "我这边帮您转接",
            "请问您的联系电话", "好的，我们马上给您登记", "还有其他问题吗", "感谢您的来电"]
ODD = ["\u200b", "\ufeff", "\u0301", "🔥", "😭", "\u202e", "\x00", "\x1f", "\ufffd", "\u3000", "ｈｅｌｐ", "１３９", "\ud800",
       "Ⅻ", "㈠", "\U0001f9d1\u200d\U0001f692", "\\", "\"", "：", ":", "【】", "[00:00:01]", "\t"]
SEPARATORS = ["，", "。", " ", "", "！", "？", "……", "、", "；", "\n"]


@lru_cache(maxsize=1)
def places() -> PlaceMatcher:
    return PlaceMatcher(Catalog.load(ROOT / "data"))


piece = st.one_of(st.sampled_from(CALLER), st.sampled_from(OPERATOR), st.sampled_from(KNOWN_PLACES),
                  st.sampled_from(UNKNOWN_PLACES), st.sampled_from(ODD),
                  st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12))
utterance = st.builds(lambda parts, seps: "".join(p + s for p, s in zip(parts, seps)),
                      st.lists(piece, min_size=1, max_size=6), st.lists(st.sampled_from(SEPARATORS), min_size=6, max_size=6))
turn = st.tuples(st.one_of(st.none(), st.sampled_from(LABELS)), st.sampled_from(["：", ":", " ", "："]),
                 st.booleans(), utterance)


def _render(turns) -> str:
    lines = []
    for i, (label, colon, stamped, said) in enumerate(turns):
        stamp = f"[00:00:{i:02d}] " if stamped else ""
        lines.append(f"{stamp}{label}{colon}{said}" if label else f"{stamp}{said}")
    return "\n".join(lines)


def _check(transcript: Transcript) -> None:
    try:
        found = extract(transcript, places())
    except IntakeError as exc:
        assert exc.zh and exc.en
        return
    assert isinstance(found, Extraction)
    assert isinstance(found.summary, str) and found.summary and len(found.summary) <= SUMMARY_LIMIT
    assert found.urgency.level in LEVELS
    if found.urgency.level in ("emergency", "threat", "crisis"):
        assert found.urgency.hotline and found.urgency.hotline in found.urgency.hotlines
    for value in (found.place.address, found.place.landmark):     # as said: never made up
        assert value is None or (value.strip() and (value in found.caller_text or value in transcript.full_text))
    if found.place.area is not None:
        assert found.place.area in places().catalog.areas


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(turn, min_size=1, max_size=8))
def test_pasted_transcripts_give_facts_or_a_clear_error(turns):
    text = _render(turns)
    try:
        transcript = read_text(text)
    except IntakeError as exc:
        assert exc.zh
        return
    _check(transcript)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["话务员", "坐席", "客服"]), st.sampled_from(OPERATOR)), min_size=1, max_size=5))
def test_only_the_operator_speaking_is_a_clear_error(turns):
    transcript = read_text("\n".join(f"{label}：{said}" for label, said in turns))
    try:
        extract(transcript, places())
    except IntakeError as exc:
        assert "来电人" in exc.zh
    else:
        raise AssertionError("a transcript with no caller turn gave a proposal")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(turn, min_size=1, max_size=5), st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "big5"]),
       st.binary(max_size=8), st.sampled_from([".txt", ".json", ".csv", ""]))
def test_files_in_any_encoding_give_items_never_exceptions(turns, encoding, junk, suffix):
    data = _render(turns).encode(encoding, errors="replace") + junk
    items = read_bytes(data, source="<generated>", name="gen", suffix=suffix)
    assert items
    for item in items:
        assert isinstance(item, (Transcript, ReadFailure))
        if isinstance(item, Transcript):
            _check(item)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_assess_never_raises_on_any_text(text):
    safety = assess(text)
    assert safety.level in LEVELS
    assert (safety.hotline is None) == (not safety.hotlines)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_places_never_raise_and_never_invent_text(text):
    place = places().find(text)
    assert place.address is None or place.address in text


# Caller statements long enough to be told from the script inside one run-on line.
STATEMENTS = ["楼下烧烤店天天半夜吵得睡不着觉", "包工头欠了三个月工钱一直拖着不给", "我们楼的电梯又坏了困住了一个老人",
              "幸福里小区门口的路灯坏了一整排", "隔壁工地晚上十二点还在打桩施工", "村口那条路被大货车压得全是坑"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(STATEMENTS), st.sampled_from(OPERATOR)), min_size=2, max_size=7))
def test_a_run_on_call_with_no_punctuation_keeps_every_caller_statement(parts):
    """ASR output of a whole call with both voices and no punctuation at all: whatever the
    order of script and statements, every statement of the caller is read as the caller's."""
    said = [p for p in parts if p in STATEMENTS]
    text = "".join(p.replace("，", "") for p in parts)
    assume(said and len(text) >= 30)
    kept = "".join(caller_sentences(read_text(text)))
    for statement in said:
        assert statement in kept, (text, kept)
    _check(read_text(text))
