"""Detectors and masks of personal data inside free text (bot/privacy.py), and the log filter."""
from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings, strategies as st

from bot import privacy
from bot.logs import MaskingFilter, install_masking, mask_record
from bot.privacy import BANK_CARD, ID_CARD, PHONE, PLATE, find, mask_text, mask_value


def id_number(first17: str) -> str:
    """A 身份证号 with its ISO 7064 MOD 11-2 check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


def card_number(first: str) -> str:
    """`first` plus the Luhn check digit."""
    for check in "0123456789":
        if privacy.luhn(first + check):
            return first + check
    raise AssertionError


ID18 = id_number("11010519491231002")
ID_X = next(id_number(f"33010619900101{n:03d}") for n in range(1000)
            if id_number(f"33010619900101{n:03d}").endswith("X"))
CARD = card_number("621700001234567890")   # 19 digits


@pytest.mark.parametrize("text, kind, value", [
    ("我电话13912345678，楼下很吵", PHONE, "13912345678"),
    ("手机１３９１２３４５６７８有事打", PHONE, "13912345678"),
    ("号码 139 1234 5678", PHONE, "13912345678"),
    ("号码139-1234-5678", PHONE, "13912345678"),
    ("电话 1 3 9 1 2 3 4 5 6 7 8 找我", PHONE, "13912345678"),
    ("您打幺三九一二三四五六七八找我", PHONE, "13912345678"),
    ("电话是一三九 1234 5678", PHONE, "13912345678"),
    ("+86 139 1234 5678", PHONE, "13912345678"),
    ("单位座机0571-87654321", PHONE, "0571-87654321"),
    ("座机 010 6655 4433", PHONE, "010-66554433"),
    ("有事打电话87654321", PHONE, "87654321"),
    (f"身份证号{ID18}，", ID_CARD, ID18),
    (f"身份证{ID_X}丢了", ID_CARD, ID_X),
    ("老身份证110105491231002还能用吗", ID_CARD, "110105491231002"),
    (f"工资卡号{CARD}被冻结", BANK_CARD, CARD),
    ("卡号 6217 0000 1234 5678 901", BANK_CARD, "6217000012345678901"),
    ("车牌京A12345的车堵门", PLATE, "京A12345"),
    ("新能源车粤BD12345天天停消防通道", PLATE, "粤BD12345"),
    ("车牌号：川a·8x123", PLATE, "川A8X123"),
])
def test_detectors_find_personal_data(text, kind, value):
    found = find(text)
    assert [(f.kind, f.value) for f in found] == [(kind, value)]
    assert text[found[0].start:found[0].end].strip()


@pytest.mark.parametrize("text", [
    "编号20261122-0007的诉求怎么样了",
    "工单号码20261122-0007",
    "2026-11-22 12:30 交了1500元",
    "一二三四月份都停过水",
    "小区有3栋楼、12个单元，住了1200户",
    "身份证号11010519491231003",      # 17 digits
    "单号110000000012345678",         # a province, but no prefecture and no birth date
    "订单号6217000012345678902",      # fails Luhn, not written like a card
    "尾号5678的那个人",
])
def test_detectors_leave_ordinary_numbers_alone(text):
    assert find(text) == []
    assert mask_text(text) == text


@pytest.mark.parametrize("text, masked", [
    ("我电话13912345678，楼下很吵", "我电话139****5678，楼下很吵"),
    ("打幺三九一二三四五六七八", "打139****5678"),
    ("座机0571-87654321", "座机0571-****4321"),
    (f"身份证{ID18}", f"身份证1101**********{ID18[-4:]}"),
    ("老证110105491231002", "老证1101*******1002"),
    (f"卡号{CARD}", f"卡号****{CARD[-4:]}"),
    ("京A12345", "京A***45"),
    ("粤BD12345", "粤B****45"),
])
def test_masks(text, masked):
    assert mask_text(text) == masked


def test_mask_value_masks_nested_json_and_keeps_keys_and_other_types():
    data = {"text": "电话13912345678", "13912345678": 1, "list": ["京A12345", 3, None],
            "nested": {"reason": f"身份证{ID18}"}, "solved": True}
    masked = mask_value(data)
    assert masked == {"text": "电话139****5678", "13912345678": 1, "list": ["京A***45", 3, None],
                      "nested": {"reason": f"身份证1101**********{ID18[-4:]}"}, "solved": True}


def test_phones_in_gives_normalised_numbers_in_order_without_repeats():
    text = "先打13912345678，不行打0571-87654321，还是13912345678"
    assert privacy.phones_in(text) == ["13912345678", "0571-87654321"]


digits = st.text(alphabet="0123456789", min_size=11, max_size=11).map(lambda s: "13" + s[2:])
filler = st.text(alphabet="楼下很吵物业不管，。！？ 小区abc-", max_size=20)


@settings(max_examples=150, deadline=None)
@given(before=filler, phone=digits, after=filler,
       style=st.sampled_from(["plain", "spaced", "dashed", "fullwidth", "spoken"]))
def test_every_typed_mobile_is_masked_and_masking_is_idempotent(before, phone, after, style):
    if style == "spaced":
        typed = f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    elif style == "dashed":
        typed = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    elif style == "fullwidth":
        typed = "".join(chr(ord(c) + 0xFEE0) for c in phone)
    elif style == "spoken":
        typed = "".join("零幺二三四五六七八九"[int(c)] for c in phone)
    else:
        typed = phone
    text = f"{before}电话{typed}。{after}"
    masked = mask_text(text)
    assert phone not in privacy.normalise(masked).replace(" ", "").replace("-", "")
    assert f"{phone[:3]}****{phone[-4:]}" in masked
    assert mask_text(masked) == masked
    assert not [f for f in find(masked) if f.kind == PHONE]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_masking_any_text_never_fails_and_never_lengthens(text):
    masked = mask_text(text)
    assert len(masked) <= len(text)
    assert mask_text(masked) == masked


def test_log_filter_masks_message_arguments_and_tracebacks():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "resident %s said %s", (
        "13912345678", f"身份证{ID18}"), None)
    try:
        raise ValueError("bad phone 13912345678")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert MaskingFilter().filter(record)
    assert record.getMessage() == f"resident 139****5678 said 身份证1101**********{ID18[-4:]}"
    assert "13912345678" not in record.exc_text and "139****5678" in record.exc_text


def test_installed_masking_reaches_every_handler(caplog):
    install_masking()
    install_masking()   # idempotent: records are not wrapped twice
    with caplog.at_level(logging.INFO):
        logging.getLogger("bot.test").info("call back 13912345678 about 京A12345")
    assert caplog.messages == ["call back 139****5678 about 京A***45"]
    assert "13912345678" not in caplog.text


def test_mask_record_tolerates_a_broken_format_string():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items for %s", ("a",), None)
    mask_record(record)
    assert "%d items" in record.getMessage()


@pytest.mark.parametrize("hostile", ["1 " * 2500, "1-" * 2500, "一 " * 2500, "138 " * 1250,
                                     "京A12345" * 700, "9" * 5000])
def test_hostile_long_texts_are_masked_in_bounded_time(hostile):
    import time

    started = time.perf_counter()
    masked = privacy._mask(hostile)          # uncached
    assert time.perf_counter() - started < 3.0
    assert privacy._mask(masked) == masked


def test_installed_masking_keeps_argument_shapes_for_formatters_that_unpack_them():
    install_masking()
    record = logging.getLogger("uvicorn.access").makeRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/case?phone=13912345678", "1.1", 200), None)
    assert len(record.args) == 5 and record.args[4] == 200
    assert record.args[2] == "/api/case?phone=139****5678"
    assert record.getMessage() == '127.0.0.1:5000 - "GET /api/case?phone=139****5678 HTTP/1.1" 200'
    import uvicorn.logging

    formatted = uvicorn.logging.AccessFormatter("%(client_addr)s %(request_line)s").format(record)
    assert "139****5678" in formatted and "13912345678" not in formatted


@pytest.mark.parametrize("text, masked", [
    ("文化路28号楼下烧烤店", "文化路**号楼下烧烤店"),
    ("幸福里小区3栋2单元501", "幸福里小区*栋*单元***"),
    ("东方苑12幢1203室", "东方苑**幢****室"),
    ("人民路18-2号", "人民路****号"),
    ("12月5号开始停水", "12月5号开始停水"),          # a date, not an address
    ("我家在二楼，上个月15号报修过", "我家在二楼，上个月15号报修过"),
])
def test_exact_addresses_lose_their_numbers_and_keep_their_road(text, masked):
    from bot.privacy import mask_address

    assert mask_address(text) == masked
    assert mask_address(masked) == masked
