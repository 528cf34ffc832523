"""Drains the outbox to residents' doors through pluggable senders.

A message is retried with exponential backoff and dead-lettered after `max_tries`; dead
letters stay in the table for staff to see (design.md §4.3). Nothing is ever deleted.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select

from bot.cases.models import CaseRow, OutboxRow
from bot.cases.queries import CaseQueries
from bot.cases.service import CaseService
from bot.privacy import mask_text

log = logging.getLogger(__name__)


class Sender(Protocol):
    """Delivers one message; raises on failure (the outbox retries)."""

    def send(self, address: str | None, text: str, *, case_number: str) -> None: ...


class LogSender:
    """Development default: writes the message to the log (address masked)."""

    def send(self, address: str | None, text: str, *, case_number: str) -> None:
        from bot.cases.validation import mask_phone

        log.info("notify %s via log to %s: %s", case_number, mask_phone(address), text)


class SenderUnavailable(RuntimeError):
    pass


@dataclass
class DrainResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0


class Outbox:
    def __init__(self, service: CaseService, senders: Mapping[str, Sender], *,
                 default: Sender | None = None, max_tries: int = 8,
                 backoff_seconds: float = 30.0, batch: int = 100,
                 lease_seconds: float = 120.0) -> None:
        self.service = service
        self.senders = dict(senders)
        self.default = default
        self.max_tries = max_tries
        self.backoff = backoff_seconds
        self.batch = batch
        self.lease_seconds = lease_seconds

    def drain_once(self) -> DrainResult:
        """Claim due messages, send them outside any transaction, then record the outcome.

        The claim moves `next_attempt_at` a lease ahead, so a crashed notifier's messages are
        picked up again later (at-least-once), and senders never hold a database lock.
        """
        result = DrainResult()
        now = self.service.clock()
        with self.service.session_factory() as session, session.begin():
            claimed = session.execute(
                select(OutboxRow, CaseRow.number).join(CaseRow, CaseRow.id == OutboxRow.case_id)
                .where(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= now,
                       *self._channel_filter())
                .order_by(OutboxRow.id).limit(self.batch)
                .with_for_update(skip_locked=True, of=OutboxRow)).all()
            for row, _ in claimed:
                row.next_attempt_at = now + timedelta(seconds=self.lease_seconds)
            # Texts are masked on write; masking again here covers rows queued before that.
            jobs = [(row.id, row.channel, row.address, mask_text(row.text), number)
                    for row, number in claimed]
        for row_id, channel, address, text, number in jobs:
            sender = self.senders.get(channel, self.default)
            error = None
            try:
                if sender is None:
                    raise SenderUnavailable(f"no sender for channel {channel!r}")
                sender.send(address, text, case_number=number)
            except Exception as exc:  # any failure of a sender is retried
                error = f"{type(exc).__name__}: {exc}"[:500]
            self._record(row_id, number, error, result)
        return result

    def _channel_filter(self) -> list:
        """Without a default sender, leave other channels' messages to the process serving them."""
        return [] if self.default is not None else [OutboxRow.channel.in_(list(self.senders))]

    def _record(self, row_id: int, number: str, error: str | None, result: DrainResult) -> None:
        now = self.service.clock()
        with self.service.session_factory() as session, session.begin():
            row = session.get(OutboxRow, row_id)
            row.tries += 1
            if error is None:
                row.status, row.sent_at = "sent", now
                result.sent += 1
                return
            row.last_error = error
            if row.tries >= self.max_tries:
                row.status = "dead"
                result.dead += 1
                log.error("outbox %s for %s dead after %s tries: %s", row_id, number, row.tries, error)
            else:
                delay = self.backoff * 2 ** (row.tries - 1)
                row.next_attempt_at = now + timedelta(seconds=min(delay, 3600))
                result.retried += 1

    def counts(self) -> dict[str, int]:
        return CaseQueries(self.service).outbox_counts()

    def dead_letters(self, limit: int = 100) -> list[dict]:
        return CaseQueries(self.service).dead_letters(limit)
