"""A period's figures and case list for filing: XLSX (a figures sheet, then a sheet per body)
and CSV (`part="cases"` or `"figures"`), Chinese headers, personal data masked.

The figures are `bot.cases.stats.compute`'s (what `bot stats --json` prints), never counted
again here. The case list is the cases opened in the period (all of them, or one body's),
read in one query; phones and names masked as every view masks them, free text masked.
The XLSX is streamed by `bot.cases.xlsx` (openpyxl's per-cell objects were most of the time).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.cases.lifecycle import OPEN_STATES, STATE_LABELS
from bot.cases.models import CaseRow
from bot.cases.service import CaseService
from bot.cases.xlsx import Book
from bot.cases.stats import compute
from bot.cases.validation import mask_name, mask_phone
from bot.csvsafe import Writer
from bot.db import READ_ONLY
from bot.privacy import mask_text

RATES = (("response_rate", "响应率"), ("resolution_rate", "解决率"),
         ("satisfaction_rate", "满意率"), ("on_time_rate", "按时办结率"))
COUNTS = (("assigned", "派单数"), ("signed_on_time", "按时签收数"), ("rated", "评价数"),
          ("solved", "已解决数"), ("satisfied", "满意数"), ("resolved", "办结数"),
          ("resolved_on_time", "按时办结数"))
FIGURE_HEADERS = ["维度", "名称", "受理数", *(zh for _, zh in RATES), *(zh for _, zh in COUNTS)]
CASE_HEADERS = ["编号", "受理时间", "类型", "一级分类", "二级分类", "区域", "承办单位", "代理员",
                "状态", "摘要", "联系人", "联系电话", "办理时限", "是否超期"]
MAX_CASES = 200_000
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


@dataclass
class Report:
    period: str
    figures: dict                      # stats.compute(...).to_dict()
    cases: list[dict]                  # rows keyed by CASE_HEADERS, plus "_body"


def build(service: CaseService, period: str, *, body: str | None = None) -> Report:
    """The figures and the cases opened in `period`; `body` keeps one body's."""
    stats = compute(service, period, body=body)
    return Report(period, stats.to_dict(), _cases(service, stats.start, stats.end, body))


def figure_rows(service: CaseService, figures: dict) -> list[list]:
    """One row per scope: the whole, each body, each category, each area tier."""
    catalog = service.catalog

    def row(dimension: str, name: str, entry: dict, opened) -> list:
        return [dimension, name, opened, *(_pct(entry[k]) for k, _ in RATES),
                *(entry["counts"][k] for k, _ in COUNTS)]

    rows = [row("全部", "合计", figures, figures.get("opened", ""))]
    for code, entry in figures["by_body"].items():
        rows.append(row("承办单位", catalog.bodies[code].name if code in catalog.bodies else "未派单",
                        entry, ""))
    for code, entry in figures["by_category"].items():
        category = catalog.categories.get(code)
        rows.append(row("诉求分类", category.label if category else code, entry, entry["opened"]))
    for code, entry in figures.get("by_area", {}).items():
        area = catalog.areas.get(code)
        rows.append(row(f"区域（{_TIERS.get(area.tier, '')}）" if area else "区域",
                        area.name if area else code, entry, entry["opened"]))
    return rows


def to_xlsx(service: CaseService, report: Report) -> bytes:
    """A sheet of figures, one of every case, and one per body with that body's cases."""
    book = Book()
    book.sheet("统计", [[f"统计周期：{report.period}"], FIGURE_HEADERS,
                        *figure_rows(service, report.figures)])
    header = book.row(CASE_HEADERS)
    rows = [book.row([case[h] for h in CASE_HEADERS]) for case in report.cases]
    book.sheet("全部诉求", [header, *rows])
    by_body: dict[str, list[str]] = {}
    for case, row in zip(report.cases, rows):
        by_body.setdefault(case["承办单位"] or "未派单", []).append(row)
    taken = {"统计", "全部诉求"}
    for name in sorted(by_body):
        book.sheet(_sheet_name(name, taken), [header, *by_body[name]])
    return book.save()


def to_csv(service: CaseService, report: Report, part: str = "cases") -> bytes:
    """UTF-8 with a byte-order mark, so that Excel reads the Chinese right; no cell starts a
    formula (`bot.csvsafe`)."""
    out = io.StringIO()
    writer = Writer(out)
    if part == "figures":
        writer.writerow(FIGURE_HEADERS)
        writer.writerows(figure_rows(service, report.figures))
    else:
        writer.writerow(CASE_HEADERS)
        writer.writerows([case[h] for h in CASE_HEADERS] for case in report.cases)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_TIERS = {"center": "中心", "station": "站", "point": "点", "grid": "网格"}


def _cases(service: CaseService, start: datetime | None, end: datetime | None,
           body: str | None) -> list[dict]:
    stmt = (select(CaseRow.number, CaseRow.created_at, CaseRow.case_type, CaseRow.category_code,
                   CaseRow.area_code, CaseRow.body_code, CaseRow.agent_code, CaseRow.state,
                   CaseRow.summary, CaseRow.contact_name, CaseRow.contact_phone, CaseRow.due_at)
            .order_by(CaseRow.created_at, CaseRow.id).limit(MAX_CASES))
    if start is not None:
        stmt = stmt.where(CaseRow.created_at >= start)
    if end is not None:
        stmt = stmt.where(CaseRow.created_at < end)
    if body is not None:
        stmt = stmt.where(CaseRow.body_code == body)
    catalog, now = service.catalog, service.clock()
    with service.session_factory() as session:      # a read: no SQLite write lock held
        rows = session.connection(execution_options={READ_ONLY: True}).execute(stmt).all()
    to_local, open_states = service.calendar.local, {s.value for s in OPEN_STATES}
    labels = {s.value: label for s, label in STATE_LABELS.items()}
    # names by code, looked up once per code rather than once per case
    areas = {code: a.name for code, a in catalog.areas.items()}
    bodies = {code: b.name for code, b in catalog.bodies.items()}
    agents = {code: a.name for code, a in catalog.agents.items()}

    def local(moment: datetime | None) -> str:
        return to_local(moment).replace(tzinfo=None).isoformat(" ", "minutes") if moment else ""

    out = []
    for (number, created_at, case_type, category_code, area_code, body_code, agent_code, state,
         summary, contact_name, contact_phone, due_at) in rows:
        category = catalog.categories[category_code]
        out.append({
            "编号": number, "受理时间": local(created_at), "类型": case_type or "",
            "一级分类": category.level1, "二级分类": category.level2,
            "区域": areas.get(area_code, "") if area_code else "",
            "承办单位": bodies.get(body_code, "") if body_code else "",
            "代理员": agents.get(agent_code, "") if agent_code else "",
            "状态": labels[state],
            "摘要": mask_text(summary) or "", "联系人": mask_name(contact_name) or "",
            "联系电话": mask_phone(contact_phone) or "", "办理时限": local(due_at),
            "是否超期": "是" if state in open_states and due_at and due_at < now else "否",
        })
    return out


def _sheet_name(name: str, taken: set[str]) -> str:
    base = _SHEET_BAD.sub("_", name)[:28] or "未命名"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base[:25]}({n})", n + 1
    taken.add(candidate)
    return candidate


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"
