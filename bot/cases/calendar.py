"""Deadlines in clock hours or Chinese working days (法定节假日 and 调休 included)."""
from __future__ import annotations

import functools
import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from bot.catalog import TimeLimits

log = logging.getLogger(__name__)
UTC = ZoneInfo("UTC")
MAX_WORKING_DAYS = 3650             # a bound for callers' bugs: ten years of counting


@functools.lru_cache(maxsize=8192)
def _official_workday(day: date) -> bool:
    """chinese-calendar's answer, remembered: a deadline counts up to a few dozen days ahead
    for every case opened, and the library validates and looks up each day anew."""
    return chinese_calendar.is_workday(day)


class WorkCalendar:
    """Working days from `chinese-calendar`; plain Monday–Friday for years it does not cover."""

    def __init__(self, timezone: str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(timezone)
        self._warned: set[int] = set()

    def is_workday(self, day: date) -> bool:
        try:
            return _official_workday(day)
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning("holiday calendar has no data for %s; counting Mon-Fri", day.year)
            return day.weekday() < 5

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """End (23:59:59 local) of the `days`-th working day after the day of `start`."""
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise ValueError(f"working days must be within 0..{MAX_WORKING_DAYS}, not {days}")
        day = self.local(start).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        return self.day_end(day)

    def resolve_due(self, start: datetime, limits: TimeLimits) -> datetime:
        if limits.resolve_working_days is not None:
            return self.add_working_days(start, limits.resolve_working_days)
        return start + timedelta(hours=limits.resolve_hours or 0)

    def local(self, moment: datetime) -> datetime:
        """A naive UTC timestamp (as stored) in local time."""
        return moment.replace(tzinfo=UTC).astimezone(self.tz)

    def local_day(self, moment: datetime) -> date:
        return self.local(moment).date()

    def day_end(self, day: date) -> datetime:
        """23:59:59 local on `day` as a naive UTC timestamp (as stored): a deadline's end."""
        return datetime.combine(day, time(23, 59, 59), tzinfo=self.tz).astimezone(UTC).replace(tzinfo=None)

    def day_start(self, day: date) -> datetime:
        """Local midnight at the start of `day` as a naive UTC timestamp (as stored)."""
        return datetime.combine(day, time(), tzinfo=self.tz).astimezone(UTC).replace(tzinfo=None)
