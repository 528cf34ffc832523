"""What the supervision dashboard shows for a period, assembled from `bot.cases.stats` (the one
source of the figures): the four rates with their change against the previous period, trends,
rankings that link to the filtered queue, and the area tiers 中心 → 站 → 点 → 网格.
"""
from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from bot.cases.service import CaseService
from bot.cases.stats import Stats, local_range, series, with_previous

RATE_KEYS = ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate")
RATE_LABELS = {"response_rate": "响应率", "resolution_rate": "解决率",
               "satisfaction_rate": "满意率", "on_time_rate": "按时办结率"}
TIER_LABELS = {"center": "中心", "station": "站", "point": "点", "grid": "网格"}
RANK_LIMIT = 10


def default_period(service: CaseService) -> str:
    today = service.calendar.local_day(service.clock())
    return f"{today.year}-{today.month:02d}"


def default_unit(period: str) -> str:
    first, stop = local_range(period)
    days = (stop - first).days
    return "day" if days <= 62 else "week" if days <= 190 else "month"


def dashboard(service: CaseService, period: str, unit: str | None = None, *,
              body: str | None = None) -> dict:
    unit = unit or default_unit(period)
    figures, previous, buckets = with_previous(service, period, unit, body=body)
    now, before, before_name = figures.to_dict(), previous.to_dict(), previous.period
    first, stop = local_range(period)
    today = service.calendar.local_day(service.clock())
    window = {"since": first.isoformat(), "until": (stop - timedelta(days=1)).isoformat()}
    return {
        "period": period, "unit": unit, "body": body,
        "from_day": window["since"], "to_day": window["until"],
        "note": _note(now, first, today),
        "stats": now,
        "previous": {"period": before_name, **{k: before[k] for k in RATE_KEYS},
                     "counts": before["counts"], "opened": before["opened"]},
        "rates": [{"key": k, "label": RATE_LABELS[k], "value": now[k], "previous": before[k],
                   "change": None if now[k] is None or before[k] is None
                   else round(now[k] - before[k], 4),
                   "part": now["counts"][part], "whole": now["counts"][whole]}
                  for k, (part, whole) in zip(RATE_KEYS, (
                      ("signed_on_time", "assigned"), ("solved", "rated"),
                      ("satisfied", "rated"), ("resolved_on_time", "resolved")))],
        "trend": _points(buckets, unit),
        "rankings": rankings(service, now, window),
        "tiers": tiers(service, now, window),
    }


def trend(service: CaseService, period: str, unit: str, *, body: str | None = None) -> list[dict]:
    return _points(series(service, period, unit, body=body), unit)


def _points(buckets: list[Stats], unit: str) -> list[dict]:
    points = []
    for bucket in buckets:
        d = bucket.to_dict()
        counts = d["counts"]
        points.append({"label": _label(bucket.period, unit), "start": bucket.period,
                       "opened": d["opened"], "resolved": counts["resolved"],
                       "late": counts["resolved"] - counts["resolved_on_time"],
                       **{k: d[k] for k in RATE_KEYS}})
    return points


def rankings(service: CaseService, figures: dict, window: dict) -> dict:
    catalog = service.catalog

    def link(**filters) -> str:
        return "/console?" + urlencode({"queue": "all", **filters, **window})

    bodies = [{"code": code, "name": catalog.bodies[code].name,
               "on_time_rate": e["on_time_rate"], "satisfaction_rate": e["satisfaction_rate"],
               "resolved": e["counts"]["resolved"], "rated": e["counts"]["rated"],
               "link": link(body=code)}
              for code, e in figures["by_body"].items() if code in catalog.bodies]
    categories = [{"code": code, "name": catalog.categories[code].label, "opened": e["opened"],
                   "resolved": e["counts"]["resolved"],
                   "overdue_share": None if not e["counts"]["resolved"] else round(
                       1 - e["counts"]["resolved_on_time"] / e["counts"]["resolved"], 4),
                   "link": link(category=code)}
                  for code, e in figures["by_category"].items() if code in catalog.categories]
    areas = [{"code": code, "name": catalog.areas[code].name,
              "tier": TIER_LABELS[catalog.areas[code].tier], "opened": e["opened"],
              "link": link(area=code)}
             for code, e in figures.get("by_area", {}).items()
             if code in catalog.areas and catalog.areas[code].tier in ("point", "station")]

    def ranked(rows: list[dict], key: str, reverse: bool = True) -> list[dict]:
        known = [r for r in rows if r[key] is not None]
        return sorted(known, key=lambda r: (-r[key] if reverse else r[key], r["code"]))[:RANK_LIMIT]

    return {"bodies_on_time": ranked(bodies, "on_time_rate"),
            "bodies_satisfaction": ranked(bodies, "satisfaction_rate"),
            "categories_volume": ranked(categories, "opened"),
            "categories_overdue": ranked([c for c in categories if c["resolved"]], "overdue_share"),
            "areas_volume": ranked(areas, "opened")}


def tiers(service: CaseService, figures: dict, window: dict) -> dict:
    """The area tree with each area's volume and rates (an area counts all below it)."""
    catalog, by_area = service.catalog, figures.get("by_area", {})
    children: dict[str | None, list[str]] = {}
    for code, area in catalog.areas.items():
        children.setdefault(area.parent, []).append(code)

    def node(code: str) -> dict:
        area, e = catalog.areas[code], by_area.get(code)
        return {"code": code, "name": area.name, "tier": TIER_LABELS[area.tier],
                "opened": e["opened"] if e else 0,
                **{k: e[k] if e else None for k in RATE_KEYS},
                "link": "/console?" + urlencode({"queue": "all", "area": code, **window}),
                "children": [node(c) for c in sorted(children.get(code, []))]}
    return node(catalog.center.code)


def _label(start: str, unit: str) -> str:
    day = date.fromisoformat(start)
    if unit == "month":
        return f"{day.year}-{day.month:02d}"
    return f"{day.month}/{day.day}"


def _note(figures: dict, first: date, today: date) -> str | None:
    if first > today:
        return "所选时段尚未开始，暂无数据。"
    if not figures["opened"] and not figures["counts"]["assigned"] and not figures["counts"]["resolved"]:
        return "该时段没有诉求数据。"
    return None
