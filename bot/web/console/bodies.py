"""Typed request bodies and query parameters of `/api/staff/*`, with bounds and Chinese refusals."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictStr

from bot.cases.validation import MAX_TEXT
from bot.web.errors import WebError
from bot.web.requests import Code, Short, Text, _Body

MAX_STAFF_BODY = 256 * 1024          # bytes of a console request body before parsing
TEXT_TOO_LONG_ZH = f"内容太长了（最多 {MAX_TEXT} 字），没有保存。请精简后再提交，或分几次填写。"
BODY_TOO_LARGE_ZH = f"提交的内容太大了，没有保存。每次填写的内容最多 {MAX_TEXT} 字，请精简后再提交。"
MAX_PAGE, MAX_PER_PAGE = 10_000, 100


class LoginBody(_Body):
    """POST /api/staff/login."""
    username: Annotated[StrictStr, Field(max_length=64)]
    password: Annotated[StrictStr, Field(max_length=1024)]
    totp: Annotated[StrictStr, Field(max_length=16)] | None = None


class ActionBody(_Body):
    """POST /api/staff/cases/{number}/actions: the action names of `bot case act`."""
    action: Code
    text: Text(MAX_TEXT) | None = None
    to: Short | None = None                 # transfer/assign: body or agent; merge: case number
    due: Short | None = None                # extend: YYYY-MM-DD or working days (sent as `to`)
    solved: StrictBool | None = None        # rate
    satisfaction: Literal["满意", "基本满意", "不满意"] | None = None


class RevealBody(_Body):
    """POST /api/staff/cases/{number}/reveal."""
    field: Code
    reason: Annotated[StrictStr, Field(max_length=200)]


class MergeIntoBody(_Body):
    """POST /api/staff/hotspots/{alert_id}/merge: the case the alert's cases are merged into."""
    into: Short


class JointBody(_Body):
    """POST /api/staff/hotspots/{alert_id}/joint: the body the joint case goes to (by default the
    one most of the alert's open cases are with)."""
    body: Code | None = None


class StaffBody(_Body):
    """POST /api/staff/staff (admins)."""
    username: Annotated[StrictStr, Field(max_length=64)]
    role: Literal["agent", "body", "operator", "supervisor", "admin"]
    password: Annotated[StrictStr, Field(max_length=1024)]
    name: Annotated[StrictStr, Field(max_length=50)] | None = None
    agent: Code | None = None
    body: Code | None = None


class PasswordBody(_Body):
    """POST /api/staff/staff/{username}/reset (admins)."""
    password: Annotated[StrictStr, Field(max_length=1024)]


# ---------------------------------------------------------------------------- query strings
QUERY_ZH = {"queue": "队列", "state": "状态", "category": "分类", "level1": "一级分类", "area": "区域",
            "body": "承办单位", "channel": "渠道", "type": "类型", "since": "开始日期",
            "until": "结束日期", "q": "搜索内容", "page": "页码", "per_page": "每页条数"}
TEXT_PARAMS = ("queue", "state", "category", "level1", "area", "body", "channel", "type", "q")


def bad_param(name: str, problem: str) -> WebError:
    return WebError(400, f"查询条件不正确：{QUERY_ZH.get(name, name)}{problem}。", "bad_request",
                    detail=[{"field": name, "problem": problem}])


def filter_params(params) -> dict:
    """The case list's query string → keyword arguments of `CaseFilter` (bounded, typed)."""
    out: dict = {}
    for name in TEXT_PARAMS:
        value = params.get(name)
        if value is None or value == "":
            continue
        if len(value) > (100 if name == "q" else 64) or not value.isprintable():
            raise bad_param(name, "太长或含有无法识别的字符")
        out[name] = value.strip()
    for name in ("since", "until"):
        value = params.get(name)
        if value:
            try:
                out[name] = date.fromisoformat(value[:10]) if len(value) <= 32 else None
            except ValueError:
                out[name] = None
            if out[name] is None:
                raise bad_param(name, "格式不对（请用 2026-12-31 这样的日期）")
    for name, default, most in (("page", 1, MAX_PAGE), ("per_page", 20, MAX_PER_PAGE)):
        value = params.get(name)
        if value is None or value == "":
            out[name] = default
            continue
        if not (value.isascii() and value.isdigit() and len(value) <= 6 and 1 <= int(value) <= most):
            raise bad_param(name, f"应为 1 到 {most} 之间的整数")
        out[name] = int(value)
    return out
