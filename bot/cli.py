"""The `bot` command for people who run the service. `bot --help` lists everything."""
from __future__ import annotations

import functools
import json
import logging
import sys

import click

from bot.cases.errors import CaseError
from bot.catalog import CatalogError
from bot.settings import Settings


def _container():
    from bot.container import Container

    return Container(Settings.from_env())


def _emit(data, as_json: bool, human) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        human(data)


def handle_errors(func):
    """Errors end with a one-line reason on stderr and a non-zero exit, never a traceback."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from sqlalchemy.exc import OperationalError, SQLAlchemyError

        try:
            return func(*args, **kwargs)
        except CaseError as exc:
            click.echo(f"错误：{exc}", err=True)
            sys.exit(2)
        except CatalogError as exc:
            click.echo(f"错误：数据文件有误 (data files: {exc})", err=True)
            sys.exit(2)
        except OperationalError as exc:
            reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc).splitlines()[0]
            click.echo(f"错误：无法访问数据库，请检查 DATABASE_URL 或先执行 bot db upgrade "
                       f"(database error: {reason})", err=True)
            sys.exit(3)
        except SQLAlchemyError as exc:
            click.echo(f"错误：数据库操作失败 (database error: {str(exc).splitlines()[0]})", err=True)
            sys.exit(3)
    return wrapper


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
def main(verbose: bool) -> None:
    """件件有着落 — intake assistant: cases, routing, notifications, figures."""
    from bot.logs import setup_logging

    setup_logging(logging.INFO if verbose else logging.WARNING)


# ---------------------------------------------------------------------- db
@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Create or migrate the schema and load the reference data."""
    container = _container()
    container.upgrade()
    click.echo(f"数据库已是最新 (database upgraded: {container.engine.url.render_as_string(hide_password=True)})")


# ---------------------------------------------------------------------- case
@main.group()
def case() -> None:
    """Open, show, list and act on cases."""


def _print_case(view: dict) -> None:
    click.echo(f"编号 {view['number']}  [{view['state_label']}]  {view['category']['level1']}/"
               f"{view['category']['level2']}  ({view['kind']})")
    click.echo(f"摘要：{view['summary']}")
    if view.get("area"):
        click.echo(f"区域：{view['area']['name']}")
    if view.get("body"):
        click.echo(f"承办单位：{view['body']['name']}   代理员：{view['agent']['name'] if view.get('agent') else '-'}"
                   f"   层级：{view['tier']}")
    click.echo(f"受理时间：{view['created_at']}   办结期限：{view['due_at'] or '-'}"
               f"{'   已超期' if view['overdue'] else ''}")
    if view.get("merged_into"):
        click.echo(f"已并入：{view['merged_into']}")
    for event in view.get("events", []):
        line = f"  {event['seq']:>2}. {event['at']}  {event['actor']:<14} {event['action']:<9} " \
               f"{event['from_state'] or '-'} → {event['to_state']}"
        click.echo(line)
        if event["public_text"]:
            click.echo(f"      公开：{event['public_text']}")
        if event["internal_note"]:
            click.echo(f"      备注：{event['internal_note']}")


@case.command("open")
@click.option("--text", required=True, help="What the resident asks for.")
@click.option("--category", required=True, help="Category code (see `bot categories`).")
@click.option("--area", help="Area code (grid, point, station or center).")
@click.option("--kind", type=click.Choice(["demand", "errand", "petition", "consult"]))
@click.option("--contact", help="Resident's phone number.")
@click.option("--name", "contact_name", help="How to address the resident, e.g. 王先生.")
@click.option("--place", help="Address or landmark as the resident said it.")
@click.option("--channel", help="Door for replies: telegram, webchat, sms …")
@click.option("--address", help="Address on that channel (chat id, session id, phone).")
@click.option("--idempotency-key", help="Same key, same case: safe to retry.")
@click.option("--actor", default="cli", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def case_open(text, category, area, kind, contact, contact_name, place, channel, address,
              idempotency_key, actor, as_json) -> None:
    """Open a case: route it, set its deadlines, tell the resident."""
    from bot.cases import OpenCase

    view = _container().cases.open_case(OpenCase(
        text=text, category=category, area=area, kind=kind, contact=contact,
        contact_name=contact_name, place=place, channel=channel, address=address,
        idempotency_key=idempotency_key, actor=actor))
    _emit(view.to_dict(), as_json, _print_case)


@case.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def case_show(number, as_json) -> None:
    """A case with its whole event timeline."""
    _emit(_container().cases.get(number).to_dict(), as_json, _print_case)


@case.command("list")
@click.option("--state", help="Only cases in this state.")
@click.option("--body", help="Only cases of this body (code).")
@click.option("--overdue", is_flag=True, help="Only open cases past their due date.")
@click.option("--limit", default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def case_list(state, body, overdue, limit, as_json) -> None:
    """Cases, newest first."""
    views = _container().cases.list_cases(state=state, body=body, overdue=overdue, limit=limit)
    data = [v.to_dict() for v in views]

    def human(rows):
        if not rows:
            click.echo("没有符合条件的诉求。")
        for v in rows:
            click.echo(f"{v['number']}  {v['state_label']:<4} {v['category']['level2']:<8} "
                       f"{(v['body'] or {}).get('name', '-'):<14} 期限 {v['due_at'] or '-'}"
                       f"{'  超期' if v['overdue'] else ''}  {v['summary'][:24]}")
    _emit(data, as_json, human)


@case.command("act")
@click.argument("number")
@click.argument("action", type=click.Choice([
    "assign", "accept", "start", "reply", "note", "transfer", "extend", "escalate", "resolve",
    "rate", "reopen", "close", "withdraw", "refer", "merge", "add_info"]))
@click.option("--text", help="Public reply, outcome, reason or note.")
@click.option("--to", help="transfer/assign: body or agent; extend: YYYY-MM-DD or working days; merge: case number.")
@click.option("--solved/--unsolved", default=None, help="rate: was the problem solved?")
@click.option("--satisfaction", type=click.Choice(["满意", "基本满意", "不满意"]), help="rate: 满意度.")
@click.option("--actor", default="cli", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def case_act(number, action, text, to, solved, satisfaction, actor, as_json) -> None:
    """Apply one lifecycle action to a case."""
    from bot.cases import Rating

    rating = None
    if action == "rate":
        if solved is None or satisfaction is None:
            raise CaseError("rate needs --solved/--unsolved and --satisfaction",
                            "评价需要 --solved 或 --unsolved，以及 --satisfaction")
        rating = Rating(solved=solved, satisfaction=satisfaction)
    view = _container().cases.act(number, action, actor=actor, text=text, to=to, rating=rating)
    _emit(view.to_dict(), as_json, _print_case)


# ---------------------------------------------------------------------- reference
@main.command()
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def categories(as_json) -> None:
    """The taxonomy: code, 一级, 二级, kind, time limits, default body."""
    container = _container()
    catalog = container.catalog
    rows = []
    for c in catalog.categories.values():
        body = catalog.route(c.code, None).body
        rows.append({"code": c.code, "level1": c.level1, "level2": c.level2, "kind": c.kind,
                     "limits": {"name": c.limits_name, "sign_hours": c.limits.sign_hours,
                                "contact_hours": c.limits.contact_hours,
                                "resolve_hours": c.limits.resolve_hours,
                                "resolve_working_days": c.limits.resolve_working_days},
                     "body": {"code": body.code, "name": body.name}})

    def human(items):
        for r in items:
            click.echo(f"{r['code']:<32} {r['level1']:<8} {r['level2']:<8} {r['kind']:<8} "
                       f"签收{r['limits']['sign_hours']:g}h 办结"
                       f"{catalog.categories[r['code']].limits.describe():<6} {r['body']['name']}")
    _emit(rows, as_json, human)


# ---------------------------------------------------------------------- background jobs
@main.command()
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between passes.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def watchdog(once, interval, as_json) -> None:
    """Escalate overdue cases one tier up and tell their residents."""
    import time

    from bot.cases import watchdog as dog

    service = _container().cases
    while True:
        done = dog.run_once(service)
        _emit({"escalated": done}, as_json,
              lambda d: click.echo(f"已督办 {len(d['escalated'])} 件：{' '.join(d['escalated'])}"))
        if once:
            return
        time.sleep(interval)


@main.command()
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between passes.")
@click.option("--dead", is_flag=True, help="List dead letters instead of sending.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def outbox(once, interval, dead, as_json) -> None:
    """Deliver pending messages to residents (log sender unless a channel is configured)."""
    import time
    from dataclasses import asdict

    box = _container().outbox()
    if dead:
        _emit(box.dead_letters(), as_json, lambda rows: [
            click.echo(f"{r['case']}  {r['channel']}  {r['tries']}次  {r['error']}") for r in rows])
        return
    while True:
        result = box.drain_once()
        _emit({**asdict(result), "totals": box.counts()}, as_json,
              lambda d: click.echo(f"发送 {d['sent']}，待重试 {d['retried']}，转死信 {d['dead']}；"
                                   f"累计 {d['totals']}"))
        if once:
            return
        time.sleep(interval)


@main.command()
@click.option("--period", help="2026Q4, 2026-11 or 2026; all time when omitted.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def stats(period, as_json) -> None:
    """三率 (响应率, 解决率, 满意率) and 按时办结率, from events."""
    from bot.cases.stats import compute

    data = compute(_container().cases, period).to_dict()

    def pct(value):
        return "—" if value is None else f"{value * 100:.1f}%"

    def human(d):
        click.echo(f"统计周期：{d['period']}")
        click.echo(f"响应率 {pct(d['response_rate'])}  解决率 {pct(d['resolution_rate'])}  "
                   f"满意率 {pct(d['satisfaction_rate'])}  按时办结率 {pct(d['on_time_rate'])}")
        click.echo(f"  计数：{d['counts']}")
        for code, t in d["by_body"].items():
            click.echo(f"  {code:<12} 响应 {pct(t['response_rate'])}  解决 {pct(t['resolution_rate'])}  "
                       f"满意 {pct(t['satisfaction_rate'])}  按时 {pct(t['on_time_rate'])}")
    _emit(data, as_json, human)


if __name__ == "__main__":
    main()
