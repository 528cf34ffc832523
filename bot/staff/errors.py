"""The one error of the staff side: a Chinese reason for people, English for logs, an HTTP status."""
from __future__ import annotations


class StaffError(Exception):
    """A refusal: `zh` is shown to people, `en` goes to logs, `code` is a stable slug, `status`
    the HTTP status the console answers with, `retry_after` seconds until trying again helps."""

    def __init__(self, zh: str, en: str, code: str, *, status: int = 400,
                 retry_after: int | None = None) -> None:
        super().__init__(en)
        self.zh, self.en, self.code, self.status, self.retry_after = zh, en, code, status, retry_after

    def __str__(self) -> str:  # one line, both languages
        return f"{self.zh} ({self.en})"


def not_found(username: str) -> StaffError:
    return StaffError(f"没有找到用户名为 {username} 的工作人员账号", f"no staff account {username!r}",
                      "unknown_staff", status=404)


def unavailable(en: str) -> StaffError:
    return StaffError("登录服务暂时不可用，请稍等一两分钟再试。", en, "unavailable", status=503,
                      retry_after=30)
