"""A refusal of the Open311 door, answered as the spec's error list."""
from __future__ import annotations


class Open311Error(Exception):
    """`status` is the HTTP status; the description is Chinese with the English in brackets."""

    def __init__(self, status: int, zh: str, en: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(en)
        self.status, self.zh, self.en, self.headers = status, zh, en, headers

    @property
    def description(self) -> str:
        return f"{self.zh} ({self.en})"


def bad(zh: str, en: str) -> Open311Error:
    return Open311Error(400, zh, en)


def not_found(zh: str, en: str) -> Open311Error:
    return Open311Error(404, zh, en)
