"""A POST requests body → a checked `Submission`, or an `Open311Error` naming the field.

Bodies are form-encoded (what the spec and FixMyStreet send: `attribute[code]=value`) or a
JSON object (`"attribute": {...}` or the same `attribute[code]` keys). Bytes must be UTF-8;
the size, the number of fields and every field's length are bounded; NUL and lone
surrogates are refused; nothing is written before all of it passed.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from bot.cases.errors import InvalidInput
from bot.cases.validation import clean_text, normalize_phone
from bot.open311.errors import Open311Error, bad
from bot.web import jsonsafe
from bot.web.errors import WebError

MAX_BODY = 64 * 1024
MAX_FIELDS = 100
MAX_DESCRIPTION = 4000          # the spec's limit
LIMITS = {"api_key": 128, "jurisdiction_id": 64, "service_code": 64, "lat": 40, "long": 40,
          "address_string": 120, "address_id": 128, "email": 254, "device_id": 128,
          "account_id": 128, "first_name": 25, "last_name": 25, "phone": 40, "media_url": 2000,
          "description": MAX_DESCRIPTION, "idempotency_key": 128}
ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\]$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,60}$")
FIELD_ZH = {"api_key": "api_key", "service_code": "服务编码 service_code", "lat": "纬度 lat",
            "long": "经度 long", "description": "描述 description", "phone": "电话 phone",
            "email": "邮箱 email", "media_url": "图片地址 media_url"}


@dataclass
class Submission:
    service_code: str
    description: str
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    phone: str | None = None
    name: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    media_url: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None

    def fingerprint_fields(self) -> dict:
        """What makes two posts the same request (not the idempotency key)."""
        return {k: v for k, v in self.__dict__.items() if k != "idempotency_key"}


def fields_of(raw: bytes, content_type: str) -> dict[str, str | dict]:
    """The body's fields, decoded and bounded; `attribute` collected into one dict."""
    media = content_type.split(";")[0].strip().lower()
    as_json = jsonsafe.is_json(content_type)
    if not as_json and media not in ("application/x-www-form-urlencoded", ""):
        raise Open311Error(415, "请用表单（application/x-www-form-urlencoded）或 JSON 提交",
                           f"unsupported Content-Type {media[:60]!r}")
    try:
        text = jsonsafe.decode_utf8(raw, content_type)
        if as_json:
            data = jsonsafe.loads(text, max_depth=3)
            if not isinstance(data, dict):
                raise bad("请求内容应为一个 JSON 对象", "JSON body must be an object")
            pairs = _json_pairs(data)
        else:
            pairs = _form_pairs(text)
    except WebError as exc:
        raise Open311Error(400 if exc.status < 500 and exc.status != 415 else exc.status,
                           exc.zh, exc.en or exc.code) from None
    return _collect(pairs)


def _form_pairs(text: str) -> list[tuple[str, str]]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise bad("表单内容不是 UTF-8 编码，请用 UTF-8 重新提交", "form fields are not UTF-8") from None
    except ValueError:
        raise bad(f"字段太多（最多 {MAX_FIELDS} 个）", f"more than {MAX_FIELDS} fields") from None
    jsonsafe.check_strings([p for pair in pairs for p in pair])
    return pairs


def _json_pairs(data: dict) -> list[tuple[str, str]]:
    if len(data) > MAX_FIELDS:
        raise bad(f"字段太多（最多 {MAX_FIELDS} 个）", f"more than {MAX_FIELDS} fields")
    pairs = []
    for key, value in data.items():
        if key == "attribute" and isinstance(value, dict):
            pairs.extend((f"attribute[{k}]", _scalar(f"attribute[{k}]", v)) for k, v in value.items())
        else:
            pairs.append((key, _scalar(key, value)))
    return pairs


def _scalar(key: str, value) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise bad(f"字段 {key[:64]} 应为文字或数字", f"{key[:64]} must be a string or a number")
    return str(value)


def _collect(pairs: list[tuple[str, str]]) -> dict:
    fields: dict = {}
    attributes: dict[str, str] = {}
    if len(pairs) > MAX_FIELDS:
        raise bad(f"字段太多（最多 {MAX_FIELDS} 个）", f"more than {MAX_FIELDS} fields")
    for key, value in pairs:
        match = ATTRIBUTE.match(key)
        target, name = (attributes, match.group(1)) if match else (fields, key)
        if name in target:
            raise bad(f"字段 {key[:70]} 重复出现", f"{key[:70]} given more than once")
        if len(value) > LIMITS.get(name, 200):
            raise bad(f"{FIELD_ZH.get(name, name[:64])} 太长（最多 {LIMITS.get(name, 200)} 字）",
                      f"{name[:64]} longer than {LIMITS.get(name, 200)} characters")
        target[name] = value
    fields["attribute"] = attributes
    return fields


def read(fields: dict) -> Submission:
    """Check every field; the service code against the catalog is the door's job."""
    code = (fields.get("service_code") or "").strip()
    if not code:
        raise bad("缺少服务编码 service_code", "service_code was not provided")
    lat, long = _coordinate(fields, "lat", 90), _coordinate(fields, "long", 180)
    if (lat is None) != (long is None):
        raise bad("经纬度须成对提供（lat 和 long）", "lat and long must be given together")
    address = _text(fields, "address_string")
    address_id = _text(fields, "address_id")
    if lat is None and not address and not address_id:
        raise bad("缺少位置：请提供 lat+long、address_string 或 address_id",
                  "a location is required: lat+long, address_string or address_id")
    description = _text(fields, "description")
    if not description:
        raise bad("缺少描述 description，请说明遇到的问题", "description was not provided")
    try:
        phone = normalize_phone(fields.get("phone"))
    except InvalidInput:
        raise bad("电话号码格式不对，请填写11位手机号或带区号的固定电话",
                  "phone is not a valid number") from None
    email = _text(fields, "email")
    if email and not EMAIL.match(email):
        raise bad("邮箱格式不对", "email is not an address")
    name = "".join(p for p in (_text(fields, "last_name"), _text(fields, "first_name")) if p) or None
    return Submission(
        service_code=code, description=description, lat=lat, long=long, address_string=address,
        address_id=address_id, phone=phone, name=name, email=email,
        device_id=_text(fields, "device_id"), account_id=_text(fields, "account_id"),
        media_url=_url(fields.get("media_url")), attributes=_attributes(fields["attribute"]),
        idempotency_key=_text(fields, "idempotency_key"))


def _text(fields: dict, name: str) -> str | None:
    try:
        return clean_text(fields.get(name), field=name, limit=LIMITS[name], required=False)
    except InvalidInput:
        raise bad(f"{FIELD_ZH.get(name, name)} 含有无法识别的字符", f"{name} contains binary data") from None


def _coordinate(fields: dict, name: str, bound: float) -> float | None:
    value = (fields.get(name) or "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or abs(number) > bound:
        raise bad(f"{FIELD_ZH[name]} 应为 -{bound:g} 到 {bound:g} 之间的数字",
                  f"{name} must be a number between -{bound:g} and {bound:g}")
    return number


def _url(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in value):
        raise bad("图片地址 media_url 应为 http 或 https 网址", "media_url must be an http(s) URL")
    return value


def _attributes(values: dict[str, str]) -> dict[str, str]:
    out = {}
    for code, value in values.items():
        try:
            text = clean_text(value, field=code, limit=200, required=False)
        except InvalidInput:
            raise bad(f"附加信息 {code} 含有无法识别的字符", f"attribute[{code}] contains binary data") from None
        if text:
            out[code] = text
    return out
