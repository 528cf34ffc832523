"""Supervision (督办): figures, hot spots, exports and the dashboard pages.

  GET  /api/staff/stats?period=&by=body|category|area|type&body=   `bot stats --json`'s dict
  GET  /api/staff/dashboard?period=&unit=day|week|month&body=     the dashboard's data
  GET  /api/staff/charts/{volume|rates}.svg?period=&unit=&body=   server-side SVG charts
  GET  /api/staff/hotspots                                         hot spots of the window
  POST /api/staff/hotspots/{id}/merge  {"into": number}            并单 the alert's cases
  POST /api/staff/hotspots/{id}/joint  {"body": code?}             联合办理: one joint case
  GET  /api/staff/export?period=&format=xlsx|csv&part=cases|figures
  GET  /console/dashboard, /console/report?period=                 the pages

Who: supervisors see every body (or one with `body=`); body staff see their own body only
(asking for another is refused); admins see the figures but no case content (no hot spot
cases, no case list), as everywhere in the console; other roles are refused.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from bot.cases import hotspots, reports, supervision
from bot.cases.errors import CaseError
from bot.cases.stats import compute
from bot.staff.principal import Role, Staff
from bot.web import jsonsafe, schema
from bot.web.console.bodies import JointBody, MergeIntoBody
from bot.web.console import auth, charts
from bot.web.console.pages import staff_page
from bot.web.errors import WebError
from bot.web.requests import parse

BREAKDOWNS = {"body": "by_body", "category": "by_category", "area": "by_area", "type": "by_type"}
NOT_ALLOWED = WebError(403, "督办看板只对督办、管理员和承办单位开放。", "forbidden")
NO_CASES = WebError(403, "管理员账号不查看诉求内容，请使用督办账号。", "forbidden")
OTHER_BODY = WebError(403, "只能查看本单位的统计。", "forbidden")
MERGE_ONLY_SUPERVISOR = WebError(403, "只有督办可以一键并单。", "forbidden")
JOINT_ONLY_SUPERVISOR = WebError(403, "只有督办可以发起联合办理。", "forbidden")
NO_ALERT = WebError(404, "没有找到这条预警。", "not_found")
NO_ALERT_OR_TARGET = WebError(404, "没有找到这条预警，或目标编号不在其中。", "not_found")
MAX_PARAM = 40


@dataclass(frozen=True)
class Reach:
    body: str | None          # the one body the figures are kept to, None for all
    cases: bool               # may see case content (hot spot cases, the case list)


def reach(staff: Staff, requested: str | None, catalog) -> Reach:
    if requested is not None and requested not in catalog.bodies:
        raise WebError(400, f"未知的承办单位：{requested}", "unknown_body")
    role = Role(staff.role)
    if role is Role.SUPERVISOR:
        return Reach(requested, True)
    if role is Role.ADMIN:
        return Reach(requested, False)
    if role is Role.BODY and staff.body_code:
        if requested is not None and requested != staff.body_code:
            raise OTHER_BODY
        return Reach(staff.body_code, True)
    raise NOT_ALLOWED


def _param(request: Request, name: str, choices=None) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    value = value.strip()
    if len(value) > MAX_PARAM or not value.isprintable():
        raise WebError(400, f"参数 {name} 太长或含有无法识别的字符。", "bad_param")
    if choices is not None and value not in choices:
        raise WebError(400, f"参数 {name} 只能是 {'、'.join(choices)}。", "bad_param")
    return value


def _cases(request: Request):
    return request.app.state.container.cases


async def _run(func, *args, **kwargs):
    """Run a read in a thread; a bad period or unit is a 400 with the Chinese reason."""
    try:
        return await asyncio.to_thread(func, *args, **kwargs)
    except CaseError as exc:
        raise WebError(400, exc.zh, "invalid", en=str(exc.args[0])) from None


def _scope(request: Request, staff: Staff) -> tuple[Reach, str]:
    service = _cases(request)
    where = reach(staff, _param(request, "body"), service.catalog)
    return where, _param(request, "period") or supervision.default_period(service)


async def _alert_body(request: Request, staff: Staff, refusal: WebError, model):
    """An alert action's body; supervisors only (body staff and admins get `refusal`)."""
    if Role(staff.role) is not Role.SUPERVISOR:
        raise refusal
    return parse(model, await jsonsafe.json_body(request, 2000, "请求内容太长。"))


async def _alert_answer(missing: WebError, func, *args, **kwargs) -> Response:
    done = await _run(func, *args, **kwargs)
    if not done.pop("found"):
        raise missing
    return JSONResponse(done)


def stats_payload(figures: dict, by: str | None) -> dict:
    """`bot stats --json`'s dict; with `by`, the top-level figures and that breakdown only."""
    if by is None:
        return figures
    return {k: v for k, v in figures.items()
            if not k.startswith("by_") or k == BREAKDOWNS[by]}


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/api/staff/stats")
    async def stats(request: Request, staff: Staff = Depends(auth.current_staff)) -> Response:
        where, period = _scope(request, staff)
        by = _param(request, "by", tuple(BREAKDOWNS))
        figures = await _run(lambda: compute(_cases(request), period, body=where.body).to_dict())
        return JSONResponse(stats_payload(figures, by))

    @api.get("/api/staff/dashboard")
    async def dashboard(request: Request, staff: Staff = Depends(auth.current_staff)) -> Response:
        where, period = _scope(request, staff)
        unit = _param(request, "unit", ("day", "week", "month"))
        data = await _run(supervision.dashboard, _cases(request), period, unit, body=where.body)
        data["can"] = {"cases": where.cases, "all_bodies": where.body is None or
                       Role(staff.role) is Role.SUPERVISOR}
        return JSONResponse(data)

    @api.get("/api/staff/charts/{name}.svg")
    async def chart(name: str, request: Request,
                    staff: Staff = Depends(auth.current_staff)) -> Response:
        if name not in ("volume", "rates"):
            raise WebError(404, "没有这个图表。", "not_found")
        where, period = _scope(request, staff)
        unit = _param(request, "unit", ("day", "week", "month"))
        service = _cases(request)
        points = await _run(supervision.trend, service, period,
                            unit or await _run(supervision.default_unit, period), body=where.body)
        labels = [p["label"] for p in points]
        if name == "volume":
            svg = charts.bars(f"{period} 受理、办结与超期办结", labels,
                              [("受理", [p["opened"] for p in points]),
                               ("办结", [p["resolved"] for p in points]),
                               ("超期办结", [p["late"] for p in points])])
        else:
            svg = charts.lines(f"{period} 三率与按时办结率", labels,
                               [(supervision.RATE_LABELS[k], [p[k] for p in points])
                                for k in supervision.RATE_KEYS])
        return Response(svg, media_type="image/svg+xml", headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    @api.get("/api/staff/hotspots")
    async def hot(request: Request, staff: Staff = Depends(auth.current_staff)) -> Response:
        where = reach(staff, _param(request, "body"), _cases(request).catalog)
        if not where.cases:
            raise NO_CASES
        service = _cases(request)
        rules = hotspots.HotspotRules.from_env()
        found = await _run(hotspots.detect, service, rules, body=where.body)
        items = []
        for spot in found:
            item = spot.to_dict(service.catalog)
            if Role(staff.role) is Role.BODY:      # another body's cases are counted, not shown
                mine = {c.number for c in spot.cases if c.body == where.body}
                item["cases"] = [c for c in item["cases"] if c["number"] in mine]
            items.append(item)
        return JSONResponse({"rules": {"min_cases": rules.min_cases,
                                       "window_days": rules.window_days,
                                       "min_score": rules.min_score}, "items": items})

    @api.post("/api/staff/hotspots/{alert_id}/merge", openapi_extra=schema.body(MergeIntoBody))
    async def merge(alert_id: int, request: Request,
                    staff: Staff = Depends(auth.writing_staff)) -> Response:
        into = (await _alert_body(request, staff, MERGE_ONLY_SUPERVISOR, MergeIntoBody)).into
        return await _alert_answer(NO_ALERT_OR_TARGET, hotspots.merge_all, _cases(request),
                                   alert_id, into.strip(), actor=staff.actor)

    @api.post("/api/staff/hotspots/{alert_id}/joint", openapi_extra=schema.body(JointBody))
    async def joint(alert_id: int, request: Request,
                    staff: Staff = Depends(auth.writing_staff)) -> Response:
        """联合办理: the alert's joint case (opened once) and what could not join it."""
        body = (await _alert_body(request, staff, JOINT_ONLY_SUPERVISOR, JointBody)).body
        return await _alert_answer(NO_ALERT, hotspots.open_joint, _cases(request), alert_id,
                                   body=body.strip() if body else None, actor=staff.actor)

    @api.get("/api/staff/export")
    async def export(request: Request, staff: Staff = Depends(auth.current_staff)) -> Response:
        where, period = _scope(request, staff)
        if not where.cases:
            raise NO_CASES
        fmt = _param(request, "format", ("xlsx", "csv")) or "xlsx"
        part = _param(request, "part", ("cases", "figures")) or "cases"
        service = _cases(request)
        report = await _run(reports.build, service, period, body=where.body)
        name = f"supervision-{period.replace('..', '_')}{'-' + where.body if where.body else ''}"
        if fmt == "xlsx":
            content = await asyncio.to_thread(reports.to_xlsx, service, report)
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            content = await asyncio.to_thread(reports.to_csv, service, report, part)
            media, name = "text/csv; charset=utf-8", f"{name}-{part}"
        return Response(content, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    api.get("/console/dashboard", include_in_schema=False)(staff_page("dashboard.html"))
    api.get("/console/report", include_in_schema=False)(staff_page("dashboard_report.html"))

    return api
