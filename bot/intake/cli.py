"""`bot intake PATH|-`: propose (and open) cases from hotline transcripts."""
from __future__ import annotations

import json
import sys

import click

from bot.intake.reader import FORMATS


@click.command("intake")
@click.argument("path")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Input format; auto looks at the file name and content.")
@click.option("--dry-run", is_flag=True, help="Propose only; open no case.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per transcript on stdout.")
def intake(path: str, fmt: str, dry_run: bool, as_json: bool) -> None:
    """Read hotline transcripts (a file, a directory or - for stdin) and open the cases.

    Re-importing the same transcripts opens nothing twice. One unreadable file or record is
    one failed item (with its reason); the rest goes on. Exits 2 when any item failed.
    """
    from bot.cli import _container, handle_errors

    handle_errors(_run)(path, fmt, dry_run, as_json, _container)


def _run(path, fmt, dry_run, as_json, make_container) -> None:
    from bot.intake.reader import read_path
    from bot.intake.service import IntakeService

    items = read_path(path, fmt)
    if not items:
        from bot.cli import refuse

        refuse(f"{path} 里没有可导入的转写文件", f"no transcript files in {path}")
    service = IntakeService.from_container(make_container())
    outcomes = []

    def emit(outcome) -> None:
        outcomes.append(outcome)
        if as_json:
            click.echo(json.dumps(outcome.to_dict(), ensure_ascii=False, default=str))
        else:
            from bot.cli import printable

            click.echo(printable(_line(outcome, dry_run)))

    if len(items) > 1:
        with click.progressbar(length=len(items), label="导入转写", file=sys.stderr,
                               show_pos=True) as bar:
            for item in items:
                emit(service.process(item, dry_run=dry_run))
                bar.update(1)
    else:
        for item in items:
            emit(service.process(item, dry_run=dry_run))

    counts = summary(outcomes)
    if as_json:
        click.echo(json.dumps({"summary": counts}, ensure_ascii=False), err=True)
    click.echo(f"共 {counts['total']} 条：新开 {counts['opened']}，已导入过 {counts['already']}，"
               f"仅提案 {counts['proposed']}，失败 {counts['failed']} "
               f"(total {counts['total']}, opened {counts['opened']}, already {counts['already']}, "
               f"proposed {counts['proposed']}, failed {counts['failed']})", err=True)
    if counts["failed"]:
        sys.exit(2)


def summary(outcomes) -> dict:
    """The counts of a batch; every failed item (unreadable file, bad record …) is counted."""
    return {"total": len(outcomes),
            "opened": sum(1 for o in outcomes if o.case and not o.existing),
            "already": sum(1 for o in outcomes if o.case and o.existing),
            "proposed": sum(1 for o in outcomes if o.proposal and not o.case and not o.error),
            "failed": sum(1 for o in outcomes if o.error)}


def _line(outcome, dry_run: bool) -> str:
    if outcome.error:
        return f"✘ {outcome.id}：{outcome.error.zh} ({outcome.error.en})"
    p = outcome.proposal
    cat = f"{p.category['level1']}/{p.category['level2']}"
    where = p.place.get("area_name") or p.place.get("address") or "地点未知"
    who = p.name or "来电人"
    urgency = {"emergency": f"【紧急·{p.urgency.get('hotline')}】", "urgent": "【急】"}.get(p.urgency["level"], "")
    dups = f"  疑似重复：{'、'.join(d['number'] for d in p.duplicates)}" if p.duplicates else ""
    head = f"· {outcome.id} 提案" if outcome.case is None else \
        f"✔ {outcome.id} → {outcome.case.number} {outcome.case.state_label}" + ("（已导入过）" if outcome.existing else "")
    return f"{head} {urgency}[{cat}] {where} {who} {p.phone or '无电话'}：{p.summary}{dups}"
