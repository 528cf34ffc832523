"""Doors keep a resident's raw words only while they still need them: a chat message waiting for
Rasa and an unhandled Telegram update. Once relayed or handled, what stays (for order and
deduplication) is masked, so the database holds no readable phone number outside the contacts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import create_engine, select

from bot import privacy
from bot.channels.telegram.store import UpdateStore, metadata as telegram_metadata, telegram_updates
from bot.web.store import ChatStore, metadata as webchat_metadata, pending

WORDS = "我电话13912345678，身份证110101199003077774，楼下烧烤店半夜很吵"


def _engine(tmp_path, metadata):
    engine = create_engine(f"sqlite:///{tmp_path / 'doors.db'}")
    metadata.create_all(engine)
    return engine


def test_a_relayed_chat_message_keeps_only_its_masked_words(tmp_path):
    engine = _engine(tmp_path, webchat_metadata)
    store = ChatStore(engine)
    store.enqueue("session-1", "m-1", WORDS, "dialogue unavailable", delay=0)
    claimed = store.due(lease_seconds=60)
    assert [row["text"] for row in claimed] == [WORDS]       # what Rasa gets is whole
    store.done(claimed[0]["id"])
    with engine.connect() as conn:
        kept = conn.scalar(select(pending.c.text))
    assert "13912345678" not in kept and "110101199003077774" not in kept
    assert privacy.find(kept) == [] and "楼下烧烤店半夜很吵" in kept


def test_a_handled_telegram_update_is_kept_masked(tmp_path):
    engine = _engine(tmp_path, telegram_metadata)
    store = UpdateStore(engine, clock=lambda: datetime(2026, 11, 23, 1, 0))
    update = {"update_id": 7, "message": {"chat": {"id": 5}, "text": WORDS}}
    assert store.add(7, 5, update)
    assert store.pending_for_chat(5)[0].payload == update       # unhandled: whole
    store.mark_done(7)
    done = store.get(7).payload
    assert done["update_id"] == 7 and done["message"]["chat"]["id"] == 5
    assert "13912345678" not in done["message"]["text"] and "楼下烧烤店" in done["message"]["text"]
    assert store.add(7, 5, update) is False                     # still deduplicated
    store.add(8, 5, {"update_id": 8, "message": {"text": WORDS}})
    store.mark_failed(8, "boom")
    with engine.connect() as conn:
        payloads = conn.scalars(select(telegram_updates.c.payload)).all()
    assert all("13912345678" not in p for p in payloads)
