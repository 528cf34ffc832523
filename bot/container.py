"""The composition root: builds engines, the catalog and services from settings, once."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from bot.catalog import Catalog
from bot.cases.calendar import WorkCalendar
from bot.cases.outbox import LogSender, Outbox, Sender
from bot.cases.service import CaseService
from bot.db import BUSY_TIMEOUT, make_engine, make_session_factory
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.cases.queries import CaseQueries
    from bot.staff.accounts import StaffService


@dataclass
class Container:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url,
                           busy_timeout=self.settings.sqlite_busy_timeout or BUSY_TIMEOUT)

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog.load(self.settings.data_dir)

    @cached_property
    def calendar(self) -> WorkCalendar:
        return WorkCalendar(self.settings.timezone)

    @cached_property
    def cases(self) -> CaseService:
        return CaseService(make_session_factory(self.engine), self.catalog,
                           calendar=self.calendar, number_prefix=self.settings.case_number_prefix)

    @cached_property
    def queries(self) -> "CaseQueries":
        from bot.cases.queries import CaseQueries

        return CaseQueries(self.cases)

    @cached_property
    def staff(self) -> "StaffService":
        from bot.staff.accounts import StaffService

        return StaffService.from_settings(self.engine, self.catalog, self.settings)

    @cached_property
    def reply_templates(self):
        from bot.cases.templates import ReplyTemplates

        return ReplyTemplates.load(self.settings.data_dir, self.catalog)

    def outbox(self, senders: dict[str, Sender] | None = None, *, fallback: bool = True) -> Outbox:
        """An outbox draining `senders`; with `fallback`, every other channel goes to the log
        (development default, where an SMS gateway's sender plugs in)."""
        return Outbox(self.cases, senders or {}, default=LogSender() if fallback else None,
                      max_tries=self.settings.outbox_max_tries,
                      backoff_seconds=self.settings.outbox_backoff_seconds)

    def upgrade(self) -> None:
        from bot.migrate import upgrade

        upgrade(self.engine, self.catalog)
