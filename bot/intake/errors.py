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


class ConfirmConflict(IntakeError):
    """A call confirmed again with other content than its case was opened with: the case is
    not changed, and the operator is told to make the change on it (HTTP 409)."""

    def __init__(self, number: str, state_label: str, changed: list[str]) -> None:
        fields = "、".join(changed)
        super().__init__(
            f"this call was already filed as case {number} with other content ({', '.join(changed)}); "
            "nothing was changed",
            f"这通电话已登记为诉求 {number}（{state_label}），本次提交的{fields}与登记时不同，修改没有保存。"
            f"如需更正或补充，请打开诉求 {number}，在该诉求上补充说明或按流程办理。")
        self.number = number
        self.changed = changed
