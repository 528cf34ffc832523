"""Errors of the case service: each carries a Chinese message for people and an English one."""
from __future__ import annotations


class CaseError(Exception):
    """Base class; `zh` is shown to people, `str(error)` is English for logs."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh

    def __str__(self) -> str:  # one line, both languages
        return f"{self.zh} ({self.args[0]})"


class InvalidInput(CaseError):
    pass


class CaseNotFound(CaseError):
    def __init__(self, number: str) -> None:
        super().__init__(f"case {number} not found", f"未找到编号为 {number} 的诉求")


class IllegalTransition(CaseError):
    def __init__(self, action: str, state) -> None:
        from bot.cases.lifecycle import ACTION_LABELS, STATE_LABELS

        label = ACTION_LABELS.get(action, action)
        state_label = STATE_LABELS.get(state, str(state))
        super().__init__(f"action '{action}' is not allowed in state '{state}'",
                         f"当前状态“{state_label}”下不能执行“{label}”")
        self.action, self.state = action, state
