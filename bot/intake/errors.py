"""Errors of the intake: a Chinese message for operators and an English one for logs."""
from __future__ import annotations


class IntakeError(Exception):
    """One transcript (or one file) could not be read or turned into a case."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh

    @property
    def en(self) -> str:
        return self.args[0]

    def __str__(self) -> str:
        return f"{self.zh} ({self.args[0]})"

    def to_dict(self) -> dict:
        return {"zh": self.zh, "en": self.en}
