"""Typed request bodies of the web doors, with bounds, and their refusals in Chinese.

Every JSON body is decoded by `bot.web.jsonsafe` (depth, numbers, encoding, surrogates) and then
validated here: strict types (a number is not a string, `true` is not an id), string lengths,
list sizes, integer ranges (ids fit a signed 64-bit column). Control characters other than
newline and tab are dropped from free text. A failed validation is a `WebError` whose message
names the field in Chinese and whose `detail` lists every problem (field, problem, type) —
never the value sent, which may be huge or personal.

The models also document the bodies in the OpenAPI schema (`bot.web.schema`), which the fuzz
suite reads.
"""
from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictFloat, StrictInt,
                      StrictStr, ValidationError)

from bot.cases.excerpt import MAX_LINE, MAX_LINES
from bot.cases.validation import MAX_SHORT, MAX_TEXT
from bot.web.config import MAX_MESSAGE
from bot.web.errors import WebError

MAX_ID = 2 ** 63 - 1
MAX_ACK = 500


def _clean(value: str) -> str:
    """Drop control and format characters other than newline/tab; refuse NUL and surrogates."""
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("contains NUL or a lone surrogate")
    if value.isprintable():
        return value
    return "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf")
                   or ch == "\u200d")


def Text(limit: int):      # noqa: N802 - reads as a type in annotations
    return Annotated[StrictStr, Field(max_length=limit), AfterValidator(_clean)]


Short = Text(MAX_SHORT)
Code = Text(64)
def _integral(value: Any) -> Any:
    """JSON Schema counts 3036.0 as an integer; so do we. A boolean is not a number here."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 64:
        return int(value)
    return value


Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID), BeforeValidator(_integral)]
Display = Annotated[dict[str, Any], Field(max_length=50)]       # shown, never used to open a case


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# ---------------------------------------------------------------------------- chat
class ChatMessage(_Body):
    """POST /api/chat/message."""
    text: Annotated[StrictStr, Field(max_length=MAX_MESSAGE)]


class Ack(_Body):
    """POST /api/chat/ack: inbox item ids the page has shown."""
    ids: Annotated[list[Id], Field(max_length=MAX_ACK)]


# ---------------------------------------------------------------------------- intake
def _blank_is_none(value: Any) -> Any:
    """The operator page sends "" when its drop-down has no option for the proposal's level."""
    return None if value == "" else value


# The levels `bot.nlu.urgency` assigns; anything else would open a case nobody can triage.
Level = Annotated[Literal["emergency", "threat", "crisis", "urgent", "normal"] | None,
                  BeforeValidator(_blank_is_none)]


class Urgency(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    level: Level = None
    hotline: Annotated[StrictStr, Field(max_length=16)] | None = None
    hotlines: Annotated[list[Annotated[StrictStr, Field(max_length=16)]], Field(max_length=10)] = []
    reason: Text(1000) | None = None


class Category(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    code: Code
    level1: Short | None = None
    level2: Short | None = None
    confidence: StrictFloat | StrictInt | None = None
    alternatives: Annotated[list[Display], Field(max_length=10)] = []


class Place(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    area: Code | None = None
    area_name: Text(MAX_TEXT) | None = None      # a correction must bring it within MAX_SHORT
    address: Text(MAX_TEXT) | None = None
    landmark: Text(MAX_TEXT) | None = None
    matched: Any = None


class ExcerptLine(BaseModel):
    """One turn of the call, as the proposal carries it (the case service checks it again)."""
    model_config = ConfigDict(extra="ignore", strict=True)
    who: Literal["caller", "operator"]
    text: Text(MAX_LINE)


class ProposalBody(BaseModel):
    """The proposal as `POST /api/intake` answered it. Its `key` is ignored: the server derives
    the idempotency key from the content (see `IntakeService.confirm_key`)."""
    model_config = ConfigDict(extra="ignore", strict=True)
    id: Short = "web"
    source: Short = "web"
    key: Short | None = None
    summary: Text(MAX_TEXT)          # a correction must bring it within MAX_SHORT
    text: Text(MAX_TEXT)
    category: Category | Code
    kind: Literal["demand", "errand", "petition", "consult"] | None = None
    body: Display | None = None
    place: Place | None = None
    area: Code | None = None
    phone: Annotated[StrictStr, Field(max_length=40)] | None = None
    phone_detail: Display | None = None
    phone_tail: Annotated[StrictStr, Field(max_length=8)] | None = None
    other_phones: Annotated[list[Annotated[StrictStr, Field(max_length=40)]], Field(max_length=100)] = []
    name: Annotated[StrictStr, Field(max_length=50)] | None = None
    incident_time: Display | None = None
    urgency: Urgency | None = None
    referral: Text(MAX_TEXT) | None = None
    case_numbers: Annotated[list[Code], Field(max_length=200)] = []
    duplicates: Annotated[list[Display], Field(max_length=50)] = []
    warnings: Annotated[list[Text(MAX_TEXT)], Field(max_length=100)] = []
    excerpt: Annotated[list[ExcerptLine], Field(max_length=MAX_LINES)] = []


class Corrections(_Body):
    """What the operator changed; only these fields may be corrected."""
    summary: Short | None = None
    text: Text(MAX_TEXT) | None = None
    category: Code | None = None
    kind: Literal["demand", "errand", "petition", "consult"] | None = None
    area: Code | None = None
    address: Short | None = None
    phone: Annotated[StrictStr, Field(max_length=40)] | None = None
    name: Annotated[StrictStr, Field(max_length=50)] | None = None
    referral: Text(MAX_TEXT) | None = None
    merge_into: Code | None = None
    urgency: Urgency | Level = None


class Confirm(_Body):
    """POST /api/intake/confirm."""
    proposal: ProposalBody
    corrections: Corrections | None = None


class Turn(BaseModel):
    """One turn of a JSON transcript; other keys the reader knows (说话人, content…) pass."""
    model_config = ConfigDict(extra="allow", strict=True)
    speaker: Short | StrictInt | None = None
    role: Short | None = None
    text: Text(MAX_TEXT * 10) | None = None
    start: StrictStr | StrictInt | StrictFloat | None = None


class TranscriptObject(BaseModel):
    """A JSON transcript as an object: `{text}` or `{id, turns: [...]}` (and the reader's aliases)."""
    model_config = ConfigDict(extra="allow", strict=True)
    id: Short | StrictInt | None = None
    text: Text(512 * 1024) | None = None
    turns: Annotated[list[Turn], Field(max_length=5000)] | None = None


TRANSCRIPT_JSON_SCHEMA_MODELS = (TranscriptObject, Turn)


# ---------------------------------------------------------------------------- refusals
FIELD_ZH = {
    "text": "内容", "ids": "ids", "proposal": "提案", "corrections": "修改", "summary": "摘要",
    "category": "分类", "code": "分类编码", "kind": "类型", "area": "区域", "address": "地址",
    "phone": "电话", "name": "姓名", "referral": "转介说明", "merge_into": "并入编号",
    "urgency": "紧急程度", "level": "紧急程度", "place": "地点", "turns": "对话轮次",
}

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any, *, too_long_status: int = 400,
          too_long_zh: str | None = None) -> M:
    """Validate decoded JSON into `model`, or raise a `WebError` with a Chinese message."""
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        raise refusal(exc, too_long_status=too_long_status, too_long_zh=too_long_zh) from None


def refusal(exc: ValidationError, *, too_long_status: int = 400,
            too_long_zh: str | None = None) -> WebError:
    problems = []
    for err in exc.errors(include_input=False, include_url=False)[:20]:
        loc = [str(p) for p in err["loc"] if not _is_union_branch(p)]
        problems.append({"field": ".".join(loc) or "(body)", "problem": _problem_zh(err),
                         "type": err["type"]})
    if not problems:
        return WebError(400, BAD_REQUEST_ZH, "bad_request")
    too_long = any(p["type"] == "string_too_long" for p in problems)
    if too_long and too_long_status != 400:
        return WebError(too_long_status, too_long_zh or BAD_REQUEST_ZH, "too_long", detail=problems)
    first = _most_telling(problems)
    zh = f"请求格式不正确：{_field_zh(first['field'])}{first['problem']}。"
    return WebError(400, zh, "too_long" if too_long else "bad_request",
                    en=f"invalid body: {first['field']}: {first['type']}", detail=problems)


_SHAPE_MISMATCH = {"model_type", "dict_type", "model_attributes_type"}


def _most_telling(problems: list[dict]) -> dict:
    """For a field that may be an object or a string (a union), "too long" says more than
    "should be an object": prefer a problem of the first field that is not a shape mismatch."""
    field = problems[0]["field"]
    same = [p for p in problems if p["field"] == field]
    return next((p for p in same if p["type"] not in _SHAPE_MISMATCH), same[0])


BAD_REQUEST_ZH = "请求格式不正确，请刷新页面后再试。"


def _is_union_branch(part) -> bool:
    """pydantic puts the union member tried ('str', 'Category', "literal['x']") in `loc`."""
    text = str(part)
    return text in ("str", "int", "float", "bool", "none") or text[:1].isupper() and text.isidentifier() \
        or text.startswith(("literal[", "function-after[", "constrained-str", "list[", "dict["))


def _field_zh(field: str) -> str:
    if field == "(body)":
        return "请求内容"
    parts = field.split(".")
    last = next((p for p in reversed(parts) if not p.isdigit()), parts[-1])
    zh = FIELD_ZH.get(last)
    return f"{zh}（{field}）" if zh else f"字段 {field} "


# pydantic's error types → what is wrong, in Chinese ({max_length}, {expected} from the context)
_PROBLEMS = {
    "missing": "缺少", "extra_forbidden": "不能填写或修改",
    "string_too_long": "太长（最多 {max_length} 字）", "too_long": "条目太多（最多 {max_length} 条）",
    "string_type": "应为文字", "string_sub_type": "应为文字",
    "int_type": "应为整数", "int_parsing": "应为整数", "int_from_float": "应为整数",
    "greater_than_equal": "超出允许的范围", "less_than_equal": "超出允许的范围",
    "greater_than": "超出允许的范围", "less_than": "超出允许的范围",
    "model_type": "应为对象", "dict_type": "应为对象", "model_attributes_type": "应为对象",
    "list_type": "应为列表", "literal_error": "取值无效（可选：{expected}）",
    "value_error": "含有无法识别的字符",
}


def _problem_zh(err: dict) -> str:
    ctx = {"max_length": "", "expected": "", **(err.get("ctx") or {})}
    return _PROBLEMS.get(err["type"], "格式不正确").format_map(ctx)
