"""Small pieces of the Telegram door: text splitting, keyboards, URLs, the update store."""
from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, strategies as st
from sqlalchemy import create_engine

from bot.channels.telegram.render import PayloadBook, keyboard, split_text, utf16_len
from bot.channels.telegram.store import UpdateStore, metadata
from bot.channels.telegram.urls import api_root


def test_api_root_accepts_both_spellings():
    assert api_root(None) == "https://api.telegram.org"
    assert api_root("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081"
    assert api_root("http://127.0.0.1:8081/") == "http://127.0.0.1:8081"


def test_split_prefers_sentence_ends_and_counts_utf16():
    text = "第一句话。" * 1000
    chunks = split_text(text)
    assert all(c.endswith("。") for c in chunks)
    assert "".join(chunks) == text
    emoji = "👍" * 3000                       # two UTF-16 units each
    assert [utf16_len(c) for c in split_text(emoji)] == [4096, 1904]
    assert split_text("  ") == []


@given(st.text(min_size=0, max_size=12000))
def test_split_never_exceeds_the_limit_nor_loses_characters(text):
    chunks = split_text(text, limit=500)
    assert all(0 < utf16_len(c) <= 500 for c in chunks)
    squeeze = lambda s: "".join(s.split())     # noqa: E731 - whitespace at cuts is dropped
    assert squeeze("".join(chunks)) == squeeze(text)


def test_keyboard_tokens_long_payloads():
    book = PayloadBook(capacity=2)
    long = '/ask_status{"case_number": "SF20261122-0007", "detail": "full"}'
    markup = keyboard([{"title": "满意", "payload": "/rate_satisfied"},
                       {"title": "详情", "payload": long}], book)
    [[first, second]] = markup.inline_keyboard
    assert first.callback_data == "/rate_satisfied"
    assert len(second.callback_data.encode()) <= 64 and book.decode(second.callback_data) == long
    assert book.decode("~p:unknown") is None
    assert keyboard([], book) is None


def test_store_drops_redeliveries_and_orders_by_update_id(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 's.db'}")
    metadata.create_all(engine)
    now = datetime(2026, 11, 23, 1, 0)
    store = UpdateStore(engine, clock=lambda: now)
    assert store.add(12, 5, {"update_id": 12}) is True
    assert store.add(11, 5, {"update_id": 11}) is True
    assert store.add(12, 5, {"update_id": 12, "changed": True}) is False
    assert [u.update_id for u in store.pending_for_chat(5)] == [11, 12]
    store.defer(11, timedelta(seconds=30), "dialogue unavailable")
    assert store.chats_due() == []             # 12 waits behind 11
    now += timedelta(seconds=31)
    assert store.chats_due() == [5]
    store.mark_done(12)
    assert store.get(12).payload == {"update_id": 12}
    assert store.prune(older_than=timedelta(0)) == 0
    now += timedelta(days=1)
    assert store.prune(older_than=timedelta(hours=1)) == 1
    assert store.counts() == {"pending": 1}
