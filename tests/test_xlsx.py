"""bot.cases.xlsx: what it writes reads back with openpyxl, text and numbers as given."""
import io

import openpyxl
from hypothesis import given, settings, strategies as st

from bot.cases.xlsx import Book

XML_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
                   max_size=30)


def read(data: bytes) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {s.title: [tuple(c.value for c in row) for row in s.iter_rows()] for s in book}


def test_sheets_in_order_with_text_numbers_and_blanks():
    book = Book()
    book.sheet("统计", [["维度", "受理数"], ["全部", 12], ["比率", 0.25]])
    book.sheet("A&B <局>", [["x", None, "", "y"]])
    book.sheet("空", [])
    assert read(book.save()) == {"统计": [("维度", "受理数"), ("全部", 12), ("比率", 0.25)],
                                 "A&B <局>": [("x", None, None, "y")], "空": []}


def test_a_row_made_once_goes_on_several_sheets_in_their_own_order():
    book = Book()
    first, second = book.row(["20261101-0001", "城管", 3]), book.row(["20261101-0002", "住建", None])
    book.sheet("全部", [["编号", "单位", "次数"], first, second])
    book.sheet("住建", [["编号", "单位", "次数"], second])
    book.sheet("城管", [first, ["合计", "", 1]])
    assert read(book.save()) == {
        "全部": [("编号", "单位", "次数"), ("20261101-0001", "城管", 3), ("20261101-0002", "住建", None)],
        "住建": [("编号", "单位", "次数"), ("20261101-0002", "住建", None)],
        "城管": [("20261101-0001", "城管", 3), ("合计", None, 1)]}


def test_markup_is_text_and_control_characters_are_dropped():
    book = Book()
    book.sheet("s", [['<b>&amp;"引号"</b>', "a\x00b\x1fc\td"]])
    assert read(book.save())["s"] == [('<b>&amp;"引号"</b>', "abc\td")]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(XML_TEXT.filter(bool) | st.integers(-10**9, 10**9), min_size=1,
                         max_size=5), min_size=1, max_size=5))
def test_any_text_reads_back_as_written(rows):
    book = Book()
    book.sheet("s", rows)
    keep = {c: None for c in (*range(0x09), 0x0b, 0x0c, *range(0x0e, 0x20), 0xfffe, 0xffff)}
    expected = [tuple((v.translate(keep) or None) if isinstance(v, str) else v for v in row)
                for row in rows]
    width = max(len(r) for r in rows)
    got = [r + (None,) * (width - len(r)) for r in expected]
    assert read(book.save())["s"] == got
