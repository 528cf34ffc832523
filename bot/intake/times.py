"""When it happened: the first time expression in the caller's account, resolved to a date
(and hour) against the call's own time when it can be."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

_N = r"[0-9一二三四五六七八九十两]{1,3}"
_WEEKDAY = "一二三四五六日天"
_DAY = (rf"(?P<abs>(?:(?P<y>\d{{4}})年)?(?P<m>{_N})月(?P<d>{_N})[日号])|(?P<iso>\d{{4}}-\d{{1,2}}-\d{{1,2}})|"
        rf"(?P<rel>大前天|前天|昨天|昨儿|昨晚|昨夜|今天|今儿|今早|今晚|今晨)|"
        rf"(?P<ago>{_N}|几)(?:天|日)(?:以前|之前|前)|"
        rf"(?P<wk>(?:上|这|本)?(?:个)?(?:周|星期|礼拜)[{_WEEKDAY}])")
_PERIOD = r"(?P<p>早上|早晨|清晨|上午|中午|下午|傍晚|晚上|夜里|夜间|半夜|深夜|凌晨|晚)"
_CLOCK = rf"(?P<h>{_N})(?:点|时)(?P<min>半|一刻|{_N}分?|多钟?|钟)?"
_EXPR = re.compile(rf"(?:{_DAY})?(?:{_PERIOD})?(?:{_CLOCK})?|(?P<since>(?:从|自)?(?:上个?月|上周|去年|前几天|前段时间|这几天|最近)(?:开始|以来|起)?)")
_CN = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


@dataclass
class IncidentTime:
    text: str                     # as said: 昨天晚上十点多
    at: str | None = None         # '2026-11-19T22:00' or '2026-11-19' when it resolves

    def to_dict(self) -> dict:
        return asdict(self)


def _num(value: str) -> int | None:
    if value.isdigit():
        return int(value)
    if value == "十":
        return 10
    if "十" in value:
        tens, _, ones = value.partition("十")
        return (_CN.get(tens, 1) if tens else 1) * 10 + (_CN.get(ones, 0) if ones else 0)
    if len(value) == 1 and value in _CN:
        return _CN[value]
    return None


def find_time(text: str, reference: datetime | None = None) -> IncidentTime | None:
    """A day (昨天晚上十点, 11月18号, 上周三) or a start (从上个月开始) first; a bare clock
    time with a period of day (凌晨两点) only when nothing better is said."""
    fallback = None
    for m in _EXPR.finditer(text):
        if not m.group(0):
            continue
        g = m.groupdict()
        if m.group("since"):
            return IncidentTime(m.group(0))
        if any(g[k] for k in ("abs", "iso", "rel", "ago", "wk")):
            return IncidentTime(m.group(0), _resolve(m, reference))
        if fallback is None and g["p"] and g["h"]:
            fallback = IncidentTime(m.group(0), _resolve(m, reference))
    return fallback


def _resolve(m: re.Match, ref: datetime | None) -> str | None:
    if ref is None:
        return None
    day: date | None = None
    g = m.groupdict()
    today = ref.date()
    if g["iso"]:
        try:
            day = date.fromisoformat("-".join(f"{int(x):02d}" if i else x for i, x in enumerate(g["iso"].split("-"))))
        except ValueError:
            return None
    elif g["abs"]:
        month, dom = _num(g["m"]), _num(g["d"])
        year = int(g["y"]) if g["y"] else today.year
        try:
            day = date(year, month, dom)
        except (TypeError, ValueError):
            return None
        if not g["y"] and day > today:
            day = day.replace(year=year - 1)
    elif g["rel"]:
        offset = {"大前天": 3, "前天": 2, "昨天": 1, "昨儿": 1, "昨晚": 1, "昨夜": 1}.get(g["rel"], 0)
        day = today - timedelta(days=offset)
    elif g["ago"]:
        n = _num(g["ago"])
        if n is None:
            return None
        day = today - timedelta(days=n)
    elif g["wk"]:
        target = _WEEKDAY.index(g["wk"][-1])
        target = 6 if target == 7 else target
        back = (today.weekday() - target) % 7
        if g["wk"].startswith("上"):
            day = today - timedelta(days=today.weekday() + 7 - target)
        else:
            day = today - timedelta(days=back)
    else:
        day = today
    hour = _num(g["h"]) if g["h"] else None
    if hour is None or hour > 24:
        return day.isoformat()
    period = g["p"] or ("晚" if g["rel"] in ("昨晚", "今晚", "昨夜") else None)
    if period in ("下午", "傍晚", "晚上", "夜里", "夜间", "晚", "深夜") and hour < 12:
        hour += 12
    if period in ("半夜", "凌晨") and hour == 12:
        hour = 0
    minute = 30 if g["min"] == "半" else 15 if g["min"] == "一刻" else \
        (_num(g["min"].rstrip("分")) or 0) if g["min"] and g["min"][0] not in "多钟" else 0
    return datetime(day.year, day.month, day.day, hour % 24, min(minute, 59)).isoformat(timespec="minutes")
