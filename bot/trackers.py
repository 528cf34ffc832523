"""`bot trackers purge`: forget what residents told Rasa after N days.

Rasa's SQL tracker store (`var/rasa/tracker.db` on SQLite by default, written by `bot run`;
any SQLAlchemy URL, PostgreSQL too) keeps every event of every conversation — the residents'
own words inside `user` events — for as long as the file exists: Rasa never deletes them.
The case store keeps what a case needs (masked); the conversation itself need not be kept.

Purging removes, for events older than the cut-off:
- whole conversations whose last event is older than the cut-off;
- in conversations still going on, the events before their latest `session_started` (Rasa
  reads a tracker only from its latest session start, and carries slots over as new events,
  so nothing the dialogue needs is lost).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import click
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

DAY = 86400.0


@dataclass
class PurgeResult:
    cutoff: float
    conversations_removed: int
    events_removed: int
    events_left: int


def default_url(var_dir) -> str:
    return f"sqlite:///{(var_dir / 'rasa' / 'tracker.db').resolve()}"


def purge(engine: Engine, older_than_days: float, *, now: float | None = None,
          dry_run: bool = False) -> PurgeResult:
    """Delete tracker events older than `older_than_days` (see module docstring)."""
    if older_than_days < 0:
        raise ValueError("older_than_days must not be negative")
    cutoff = (time.time() if now is None else now) - older_than_days * DAY
    if "events" not in inspect(engine).get_table_names():
        return PurgeResult(cutoff, 0, 0, 0)
    idle = text("SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff")
    old_sessions = text(
        "SELECT COUNT(*) FROM events WHERE timestamp < :cutoff AND sender_id NOT IN "
        "(SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff) "
        "AND timestamp < (SELECT MAX(s.timestamp) FROM events s WHERE s.sender_id = events.sender_id "
        "AND s.type_name = 'session_started')")
    with engine.begin() as conn:
        senders = [row[0] for row in conn.execute(idle, {"cutoff": cutoff})]
        idle_events = conn.execute(text(
            "SELECT COUNT(*) FROM events WHERE sender_id IN "
            "(SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff)"),
            {"cutoff": cutoff}).scalar_one()
        trimmed = conn.execute(old_sessions, {"cutoff": cutoff}).scalar_one()
        if not dry_run:
            conn.execute(text(
                "DELETE FROM events WHERE timestamp < :cutoff AND sender_id NOT IN "
                "(SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff) "
                "AND timestamp < (SELECT MAX(s.timestamp) FROM events s "
                "WHERE s.sender_id = events.sender_id AND s.type_name = 'session_started')"),
                {"cutoff": cutoff})
            conn.execute(text(
                "DELETE FROM events WHERE sender_id IN "
                "(SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff)"),
                {"cutoff": cutoff})
        left = conn.execute(text("SELECT COUNT(*) FROM events")).scalar_one()
    return PurgeResult(cutoff, len(senders), idle_events + trimmed, left)


@click.group()
def trackers() -> None:
    """Rasa's conversation store: how long residents' words are kept."""


@trackers.command("purge")
@click.option("--older-than", "days", required=True, type=click.FloatRange(min=0),
              help="Days: events older than this are removed.")
@click.option("--url", envvar="TRACKER_STORE_URL",
              help="Tracker store database URL (default: var/rasa/tracker.db, as `bot run` writes it).")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True)
def purge_command(days, url, dry_run, as_json) -> None:
    """Remove tracker events older than N days (whole idle conversations, and old sessions)."""
    import sys

    from sqlalchemy.exc import SQLAlchemyError

    from bot.db import describe_error
    from bot.settings import Settings

    url = url or default_url(Settings.from_env().var_dir)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        click.echo(f"没有对话记录库，无需清理 (no tracker store at {url})")
        return
    try:
        engine = create_engine(url)
        result = purge(engine, days, dry_run=dry_run)
        engine.dispose()
    except SQLAlchemyError as exc:
        zh, en = describe_error(exc)
        click.echo(f"错误：无法访问对话记录库：{zh} (tracker store error: {en})", err=True)
        sys.exit(3)
    if as_json:
        click.echo(json.dumps({**asdict(result), "dry_run": dry_run}, ensure_ascii=False))
        return
    verb = "将删除" if dry_run else "已删除"
    click.echo(f"{verb} {result.conversations_removed} 个超过 {days:g} 天未活动的对话、"
               f"共 {result.events_removed} 条对话事件；剩余 {result.events_left} 条。")
