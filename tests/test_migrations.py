"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.schema import product_metadata


def test_migrations_match_the_models(container):
    with container.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), product_metadata())
    assert diff == []


def test_upgrade_is_idempotent_and_loads_reference_data(container):
    container.upgrade()  # second run: no error, nothing duplicated
    tables = set(inspect(container.engine).get_table_names())
    assert {"cases", "events", "outbox", "areas", "bodies", "agents", "categories",
            "telegram_updates"} <= tables
    with container.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("select count(*) from categories")).scalar() == len(container.catalog.categories)
        assert conn.execute(text("select count(*) from areas")).scalar() == len(container.catalog.areas)


def test_revision_0004_masks_what_was_stored_before_and_types_old_cases(database_url, tmp_path):
    """A database written before masking on write: upgrading masks its free text (not the
    contact fields) and gives every case a 12345 type."""
    from datetime import datetime

    from sqlalchemy import create_engine, text

    from bot.catalog import Catalog
    from bot.migrate import upgrade
    from bot.settings import ROOT

    engine = create_engine(database_url)
    upgrade(engine, Catalog.load(ROOT / "data"), revision="0003")
    now = datetime(2026, 11, 23, 1, 0, 0)
    with engine.begin() as conn:
        case_id = conn.execute(text(
            "INSERT INTO cases (number, kind, category_code, tier, state, text, summary, place, "
            "contact_phone, channel, address, created_at, updated_at, event_count) VALUES "
            "('20261123-0001', 'demand', 'env.noise', 'center', 'received', "
            "'投诉：楼下太吵，我电话13912345678', '楼下太吵 13912345678', '京A12345旁', "
            "'13912345678', 'sms', '13912345678', :now, :now, 1) RETURNING id"),
            {"now": now}).scalar_one()
        event_id = conn.execute(text(
            "INSERT INTO events (case_id, seq, at, actor, action, to_state, public_text, "
            "internal_note, data) VALUES (:case, 1, :now, 'cli', 'open', 'received', "
            "'已受理 13912345678', '核实过 13912345678', :data) RETURNING id"),
            {"case": case_id, "now": now, "data": '{"text": "我电话13912345678"}'}).scalar_one()
        conn.execute(text(
            "INSERT INTO outbox (case_id, event_id, channel, address, text, status, tries, "
            "next_attempt_at, created_at, inline) VALUES (:case, :event, 'sms', '13912345678', "
            "'已受理 13912345678', 'pending', 0, :now, :now, false)"),
            {"case": case_id, "event": event_id, "now": now})
    upgrade(engine, Catalog.load(ROOT / "data"))
    with engine.connect() as conn:
        case = conn.execute(text("SELECT text, summary, place, contact_phone, address, case_type "
                                 "FROM cases")).one()
        event = conn.execute(text("SELECT public_text, internal_note, data FROM events")).one()
        outbox = conn.execute(text("SELECT text, address FROM outbox")).one()
    assert case.text == "投诉：楼下太吵，我电话139****5678" and case.summary == "楼下太吵 139****5678"
    assert case.place == "京A***45旁" and case.case_type == "投诉"
    assert (case.contact_phone, case.address, outbox.address) == ("13912345678",) * 3
    assert "13912345678" not in f"{event.public_text}{event.internal_note}{event.data}{outbox.text}"
    assert "139****5678" in str(event.data)
    engine.dispose()
