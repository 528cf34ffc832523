"""The `bot` command for people who run the service. `bot --help` lists everything."""
from __future__ import annotations

import functools
import json
import logging
import re
import sys
import unicodedata

import click

from bot.cases.errors import CaseError
from bot.cases.lifecycle import ACTIONS
from bot.catalog import CatalogError
from bot.settings import Settings


# A person at a prompt should not wait half a minute for another process's lock; the web app
# keeps the longer default. SQLITE_BUSY_TIMEOUT sets both.
CLI_BUSY_TIMEOUT = 5.0


def _container(*, store: bool = True):
    """The CLI's container; with `store` (a command that reads or writes cases) a new, empty
    database gets its schema first. Commands that only read the taxonomy, train or migrate
    pass store=False and leave the database as it is."""
    from dataclasses import replace

    from bot.container import Container

    settings = Settings.from_env()
    container = Container(replace(settings, sqlite_busy_timeout=settings.sqlite_busy_timeout or CLI_BUSY_TIMEOUT))
    if store:
        _create_if_new(container)
    return container


def _create_if_new(container) -> None:
    """A database with no tables at all (a new DATABASE_URL, a new SQLite file) gets the
    schema, as `bot run` gives it: the first command on a new machine must not fail on every
    item for a missing table. A database of an older revision is left to `bot db upgrade`."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    try:
        if inspect(container.engine).get_table_names():
            return
    except SQLAlchemyError:
        return                           # unreachable: the command says why when it uses it
    container.upgrade()
    logging.getLogger(__name__).info("new database: schema created")


def _emit(data, as_json: bool, human) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        human(data)


def refuse(zh: str, en: str, code: int = 2):
    """End the command: a one-line reason (Chinese, then English in brackets) and exit 2."""
    click.echo(printable(f"错误：{zh} ({en})"), err=True)
    sys.exit(code)


def printable(line: str) -> str:
    """One line that cannot drive the terminal: control and format characters (ESC sequences,
    right-to-left overrides, newlines) in what the user typed are shown escaped."""
    return "".join(ch if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp")
                   else ch.encode("unicode_escape").decode("ascii") for ch in line)


def _bad_argument(argv: list[str]) -> str | None:
    """An argument no command can take: a NUL, or bytes that are not UTF-8 (Python hands
    those over as lone surrogates, which no database, log or terminal accepts)."""
    for arg in argv:
        if "\x00" in arg or any(unicodedata.category(ch) == "Cs" for ch in arg):
            return arg
    return None


_CLICK_ZH = (
    (click.exceptions.NoSuchOption, "没有这个选项，请用 --help 查看用法"),
    (click.exceptions.MissingParameter, "缺少必需的参数，请用 --help 查看用法"),
    (click.exceptions.BadParameter, "参数的值不对，请用 --help 查看用法"),
    (click.exceptions.FileError, "无法打开文件"),
    (click.UsageError, "命令用法不对，请用 --help 查看用法"),
)


class BotGroup(click.Group):
    """The `bot` group: every failure ends with one line, Chinese then English in brackets,
    on stderr, and exit 2 (refused input) or 3 (database); never a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = sys.argv[1:] if args is None else list(args)
        if _bad_argument(argv) is not None:
            refuse("参数中含有无法识别的字符，请使用 UTF-8 文本",
                   "an argument holds a NUL or bytes that are not UTF-8")
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            _usage_error(exc)
        except click.Abort:
            refuse("已中止", "aborted", 1)
        except BrokenPipeError:
            sys.stderr.close()          # output piped to `head`: nothing more to say
            sys.exit(0)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
            where = _keep_traceback(argv)
            refuse(f"内部错误，请把这行信息告诉维护人员{f'（详情见 {where}）' if where else ''}",
                   f"internal error: {type(exc).__name__}: {str(exc)[:200]}", 1)
        sys.exit(code if isinstance(code, int) else 0)


def _keep_traceback(argv: list[str]) -> str | None:
    """Append the current exception's traceback to var/log/cli-errors.log for maintainers."""
    import time
    import traceback

    try:
        path = Settings.from_env().var_dir / "log" / "cli-errors.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8", errors="backslashreplace") as log:
            log.write(f"==== {time.strftime('%Y-%m-%d %H:%M:%S')} bot {' '.join(argv)[:500]}\n"
                      f"{traceback.format_exc()}\n")
        return str(path)
    except Exception:  # noqa: BLE001 - no log is no reason to fail louder
        return None


def _usage_error(exc: click.ClickException):
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())
    if no_args and isinstance(exc, no_args):     # plain `bot db`: the help, then the reason
        exc.show()
        refuse("缺少子命令，请从上面的列表中选一个", "missing command")
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        click.echo(exc.ctx.get_usage(), err=True)
    message = " ".join(exc.format_message().split())
    unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "", message)  # click quotes what the user typed
    if type(exc) is click.UsageError and re.search(r"[\u4e00-\u9fff]", unquoted):
        # a command's own reason, already in Chinese
        click.echo(printable(f"错误：{message}"), err=True)
        sys.exit(2)
    zh = next((z for kind, z in _CLICK_ZH if isinstance(exc, kind)), "命令无法执行")
    refuse(zh, message, 2)


def handle_errors(func):
    """Errors end with a one-line reason on stderr and a non-zero exit, never a traceback."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from sqlalchemy.exc import OperationalError, SQLAlchemyError

        from bot.db import describe_error

        try:
            return func(*args, **kwargs)
        except CaseError as exc:
            click.echo(printable(f"错误：{exc}"), err=True)
            sys.exit(2)
        except CatalogError as exc:
            click.echo(printable(f"错误：数据文件有误 (data files: {exc})"), err=True)
            sys.exit(2)
        except OperationalError as exc:
            zh, en = describe_error(exc)
            click.echo(printable(f"错误：无法访问数据库：{zh} (database error: {en})"), err=True)
            sys.exit(3)
        except SQLAlchemyError as exc:
            zh, en = describe_error(exc)
            click.echo(printable(f"错误：数据库操作失败：{zh} (database error: {en})"), err=True)
            sys.exit(3)
        except OSError as exc:
            refuse(f"无法读写文件：{exc.strerror or exc}",
                   f"{type(exc).__name__}: {exc.filename or ''} {exc.strerror or exc}".strip())
    return wrapper


@click.group(cls=BotGroup)
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
    container = _container(store=False)
    container.upgrade()
    click.echo(f"数据库已是最新 (database upgraded: {container.engine.url.render_as_string(hide_password=True)})")


# ---------------------------------------------------------------------- case
@main.group()
def case() -> None:
    """Open, show, list and act on cases."""


def _print_case(view: dict) -> None:
    click.echo(f"编号 {view['number']}  [{view['state_label']}]  {view['category']['level1']}/"
               f"{view['category']['level2']}  ({view['kind']}{'，' + view['type'] if view.get('type') else ''})")
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
@click.option("--type", "case_type", type=click.Choice(["咨询", "求助", "投诉", "举报", "建议", "表扬"]),
              help="12345 type; predicted from the text when omitted.")
@click.option("--contact", help="Resident's phone number.")
@click.option("--name", "contact_name", help="How to address the resident, e.g. 王先生.")
@click.option("--place", help="Address or landmark as the resident said it.")
@click.option("--channel", help="Door for replies: telegram, webchat, sms …")
@click.option("--address", help="Address on that channel (chat id, session id, phone).")
@click.option("--idempotency-key", help="Same key, same case: safe to retry.")
@click.option("--actor", default="cli", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def case_open(text, category, area, kind, case_type, contact, contact_name, place, channel,
              address, idempotency_key, actor, as_json) -> None:
    """Open a case: route it, set its deadlines, tell the resident."""
    from bot.cases import OpenCase

    view = _container().cases.open_case(OpenCase(
        text=text, category=category, area=area, kind=kind, contact=contact,
        contact_name=contact_name, place=place, channel=channel, address=address,
        idempotency_key=idempotency_key, actor=actor, case_type=case_type))
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
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 10_000))
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
@click.argument("action", type=click.Choice(ACTIONS))
@click.option("--text", help="Public reply, outcome, reason or note.")
@click.option("--to", help="transfer/assign: body or agent; extend/ask_extension: YYYY-MM-DD or "
              "working days (extend on a pending request: omit for the requested date); merge: case number.")
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
    container = _container(store=False)
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
def _loop(one_pass, interval: float, once: bool) -> None:
    """Run `one_pass` every `interval` seconds (once with `once`). Ctrl-C, SIGINT or SIGTERM
    stops the loop after the pass under way, with "已停止" and exit 0; a second signal
    stops at once (a pass's transaction is rolled back)."""
    import signal
    import time

    stopping = []

    def stop(signum, frame) -> None:
        if stopping:
            raise KeyboardInterrupt
        stopping.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping:
            one_pass()
            if once:
                return
            deadline = time.monotonic() + interval
            while not stopping and (left := deadline - time.monotonic()) > 0:
                time.sleep(min(left, 0.2))
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("已停止 (stopped)", err=True)


def _finite(value: float) -> float:
    if value != value:      # NaN passes every range check
        raise click.BadParameter("must be a number of seconds, not NaN")
    return value


@main.command()
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(1.0, 86_400.0),
              callback=lambda ctx, param, value: _finite(value), help="Seconds between passes.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def watchdog(once, interval, as_json) -> None:
    """Escalate overdue cases one tier up and tell their residents."""
    from bot.cases import watchdog as dog

    service = _container().cases

    def one_pass() -> None:
        done = dog.run_once(service)
        _emit({"escalated": done}, as_json,
              lambda d: click.echo(f"已督办 {len(d['escalated'])} 件：{' '.join(d['escalated'])}"))
    _loop(one_pass, interval, once)


@main.command()
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.1, 86_400.0),
              callback=lambda ctx, param, value: _finite(value), help="Seconds between passes.")
@click.option("--dead", is_flag=True, help="List dead letters instead of sending.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def outbox(once, interval, dead, as_json) -> None:
    """Deliver pending Telegram and SMS messages (SMS to the log until a gateway is plugged in)."""
    from dataclasses import asdict

    from bot.cases.outbox import LogSender
    from bot.channels.telegram.sender import senders_from_settings

    container = _container()
    # Web chat pushes belong to the app process (`bot run`); here: Telegram when configured,
    # SMS to the log until an SMS gateway's sender is plugged in.
    senders = {"sms": LogSender(), **senders_from_settings(container.settings)}
    box = container.outbox(senders, fallback=False)
    if dead:
        _emit(box.dead_letters(), as_json, lambda rows: [
            click.echo(f"{r['case']}  {r['channel']}  {r['tries']}次  {r['error']}") for r in rows])
        return

    def one_pass() -> None:
        result = box.drain_once()
        _emit({**asdict(result), "totals": box.counts()}, as_json,
              lambda d: click.echo(f"发送 {d['sent']}，待重试 {d['retried']}，转死信 {d['dead']}；"
                                   f"累计 {d['totals']}"))
    _loop(one_pass, interval, once)


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
        if d.get("by_type"):
            click.echo("  按类型受理：" + "  ".join(f"{k} {t['opened']}" for k, t in d["by_type"].items()))
    _emit(data, as_json, human)


# ---------------------------------------------------------------------- NLU (issue 3)
def _nlu_errors(func):
    """Model and data-file problems end with a one-line Chinese reason, never a traceback."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from bot.nlu.rasa import ParserError
        from bot.nlu.tabular import TableError
        from bot.nlu.training import TrainingError

        try:
            return func(*args, **kwargs)
        except ParserError as exc:
            click.echo(f"错误：模型不可用，请先执行 make model 或 bot train ({exc})", err=True)
            sys.exit(3)
        except (TableError, TrainingError) as exc:
            click.echo(printable(f"错误：{exc}"), err=True)
            sys.exit(2)
    return wrapper


def _classifier(model):
    from pathlib import Path

    from bot.nlu.rasa import RasaClassifier, make_parser

    settings = Settings.from_env()
    container = _container(store=False)
    parser = make_parser(Path(model) if model else None, settings.rasa_url)
    return RasaClassifier(container.catalog, parser)


MAX_CLASSIFY_CHARS = 5000          # the case store's limit for a resident's text
MAX_CLASSIFY_FILE_BYTES = 16 * 1024 * 1024


def _one_text(text: str) -> str:
    text = text.strip()
    if not text:
        refuse("要分类的文本为空", "empty text")
    if len(text) > MAX_CLASSIFY_CHARS:
        refuse(f"文本过长（{len(text)} 字，上限 {MAX_CLASSIFY_CHARS} 字）",
               f"text has {len(text)} characters, more than {MAX_CLASSIFY_CHARS}")
    return text


def _texts_from_file(path: str) -> list[str]:
    """One text per line, in UTF-8 or GB18030; binary, empty or oversized files are refused."""
    from pathlib import Path

    from bot.intake.decoding import decode
    from bot.intake.errors import IntakeError

    file = Path(path)
    try:
        if not file.is_file():
            refuse(f"找不到文件 {path}", f"no such file: {path}")
        if file.stat().st_size > MAX_CLASSIFY_FILE_BYTES:
            refuse(f"文件超过 {MAX_CLASSIFY_FILE_BYTES // 2**20} MB", f"file larger than "
                   f"{MAX_CLASSIFY_FILE_BYTES // 2**20} MB: {path}")
        content = decode(file.read_bytes())
    except OSError as exc:
        refuse(f"无法读取文件 {path}：{exc.strerror}", f"cannot read {path}: {exc.strerror}")
    except IntakeError as exc:
        refuse(f"无法读取文件 {path}：{exc.zh}", exc.en)
    texts = []
    for number, line in enumerate(content.splitlines(), 1):
        line = line.strip()
        if len(line) > MAX_CLASSIFY_CHARS:
            refuse(f"第 {number} 行过长（{len(line)} 字，上限 {MAX_CLASSIFY_CHARS} 字）",
                   f"line {number} has {len(line)} characters, more than {MAX_CLASSIFY_CHARS}")
        if line:
            texts.append(line)
    if not texts:
        refuse(f"文件 {path} 里没有要分类的文本", f"no text in {path}")
    return texts


def _print_classification(item: dict) -> None:
    others = "；".join(f"{a['level1']}/{a['level2']} {a['confidence']:.2f}"
                       for a in item["alternatives"][1:])
    click.echo(f"{item['level1']}/{item['level2']} ({item['code']})  置信度 {item['confidence']:.2f}"
               f"  建议承办：{(item.get('body') or {}).get('name', '-')}"
               + (f"\n  备选：{others}" if others else ""))


@main.command()
@click.argument("text", required=False)
@click.option("--file", "path", type=click.Path(dir_okay=False), help="One text per line.")
@click.option("--model", type=click.Path(dir_okay=False),
              help="Model file (default: RASA_URL if it answers, else models/current.tar.gz).")
@click.option("--json", "as_json", is_flag=True, help="JSON (JSON lines with --file).")
@handle_errors
@_nlu_errors
def classify(text, path, model, as_json) -> None:
    """Category (一级/二级), confidence, top-3 alternatives and the suggested body of a text."""
    if (text is None) == (path is None):
        refuse("请给出要分类的文本，或用 --file 给出文件（二者选一）", "give either TEXT or --file FILE")
    texts = _texts_from_file(path) if path else [_one_text(text)]
    classifier = _classifier(model)
    try:
        from bot.nlu.evaluation import classify_all

        results = classify_all(classifier, texts)
    finally:
        classifier.close()
    for source, result in zip(texts, results):
        item = {"text": source, **result.to_dict()}
        if as_json:
            click.echo(json.dumps(item, ensure_ascii=False))
        else:
            if path:
                click.echo(f"{source[:40]}")
            _print_classification(item)


@main.command("evaluate")
@click.option("--data", "path", required=True, type=click.Path(dir_okay=False),
              help="CSV or Excel file with a text and a label column.")
@click.option("--text-col", help="Text column (default: text/内容/诉求内容 …).")
@click.option("--label-col", help="Label column: 一级 names (城乡建设 …), 二级 names or codes.")
@click.option("--model", type=click.Path(dir_okay=False))
@click.option("--predictions", "out", type=click.Path(dir_okay=False),
              help="Write each row's prediction to this CSV.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
@_nlu_errors
def evaluate_cmd(path, text_col, label_col, model, out, as_json) -> None:
    """Accuracy, macro-F1, per-class P/R/F1 and confusion at the first and second level."""
    from pathlib import Path

    from bot.nlu.evaluation import (check_writable, classify_all, load_rows, score,
                                    write_predictions)

    if out:
        check_writable(Path(out))     # before minutes of classifying, not after
    container = _container(store=False)
    rows, skipped = load_rows(Path(path), container.catalog, text_col, label_col)
    if not rows:
        refuse(f"文件里没有可评估的行（{skipped} 行文本为空、过长或分类无法识别）",
               f"no row to evaluate ({skipped} rows without text, too long, or with an unknown label)")
    classifier = _classifier(model)
    try:
        results = classify_all(classifier, [r.text for r in rows])
    finally:
        classifier.close()
    data = score(rows, results)
    data["skipped"] = skipped
    if out:
        write_predictions(Path(out), rows, results)

    def level(name, figures):
        click.echo(f"{name}：准确率 {figures['accuracy']:.3f}  宏平均F1 {figures['macro_f1']:.3f}")
        for label, f in sorted(figures["per_class"].items(), key=lambda kv: -kv[1]["support"]):
            if f["support"]:
                click.echo(f"  {label:<24} P {f['precision']:.3f}  R {f['recall']:.3f}  "
                           f"F1 {f['f1']:.3f}  n={f['support']}")
        mistakes = [(g, p, n) for g, row in figures["confusion"].items() for p, n in row.items() if g != p]
        if mistakes:
            click.echo("  主要混淆：" + "；".join(f"{g}→{p} {n}" for g, p, n in
                                              sorted(mistakes, key=lambda m: -m[2])[:8]))

    def human(d):
        click.echo(f"共 {d['n']} 行（跳过 {d['skipped']} 行）")
        level("一级分类", d["level1"])
        if d["level2"]:
            level(f"二级分类（{d['level2']['n']} 行有二级标签）", d["level2"])
    _emit(data, as_json, human)


@main.command("train")
@click.option("--history", "histories", multiple=True, type=click.Path(dir_okay=False),
              help="CSV/Excel of historical work orders (text + category); repeatable.")
@click.option("--text-col", help="Text column of the history files.")
@click.option("--label-col", help="Category column: codes, 二级 or 一级 names, or the agency's own "
                                  "labels; several columns (一级分类,二级分类) form one path.")
@click.option("--label-map", "label_map_path", type=click.Path(dir_okay=False),
              help="YAML or CSV: the agency's labels (any depth) → category codes or 一级 names.")
@click.option("--cross-validate", "k", type=int,
              help="K-fold figures on the history rows, beside the TF-IDF + LinearSVC baseline.")
@click.option("--dry-run", is_flag=True, help="Read and report the history; train nothing.")
@click.option("--out", default="models/current.tar.gz", show_default=True,
              type=click.Path(dir_okay=False), help="Where the trained model goes.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
@_nlu_errors
def train_cmd(histories, text_col, label_col, label_map_path, k, dry_run, out, as_json) -> None:
    """Train the assistant's model, optionally with an agency's historical work orders.

    Rows labelled with a first-level name train the first level; rows with a category code or
    二级 name train both levels. Unknown labels, empty rows and conflicting duplicates are
    skipped and reported. The model is swapped in only when training succeeded."""
    from pathlib import Path

    from bot.nlu import training
    from bot.nlu.labels import LabelMap, LabelMapError, LabelResolver

    container = _container(store=False)
    catalog = container.catalog
    work = container.settings.var_dir / "train"
    work.mkdir(parents=True, exist_ok=True)
    if k and not histories:
        raise training.TrainingError("--cross-validate 需要 --history 文件 (--cross-validate needs --history)")
    try:
        label_map = LabelMap.load(Path(label_map_path), LabelResolver(catalog)) if label_map_path else None
    except LabelMapError as exc:
        raise training.TrainingError(str(exc)) from None
    extra, report = [], {}
    if histories:
        history = training.load_history([Path(h) for h in histories], catalog, text_col, label_col,
                                        label_map)
        report["history"] = history.report()
        if not history.examples:
            reasons = "，".join(f"{training.SKIP_REASONS[r]} {n} 行" for r, n in history.skipped_by.items())
            unknown = "、".join(label for label, _ in history.unknown_labels.most_common(5))
            raise training.TrainingError(
                f"历史工单里没有可用的行：共 {history.rows} 行，{reasons or '没有数据行'}"
                + (f"（无法识别的分类如：{unknown}，可用 --label-map 对照）" if unknown else "")
                + f" (no usable rows in the history: {dict(history.skipped_by)})")
        if k:
            report["cross_validation"] = training.cross_validate(history, k, catalog, work,
                                                                 container.settings.data_dir)
        extra.append(training.write_nlu(history.examples, work / "history.yml"))
    if not dry_run:
        seconds = training.train_model(Path(out), extra, work / "train.log", container.settings.data_dir)
        report.update(model=str(out), train_seconds=round(seconds, 1))
    _emit(report, as_json, _print_training)


def _print_training(d: dict) -> None:
    from bot.nlu.training import SKIP_REASONS

    h = d.get("history")
    if h:
        depth = h["used_by_depth"]
        click.echo(f"历史工单：共 {h['rows']} 行，采用 {h['used']} 行（有二级分类 {depth['level2']}，"
                   f"只有一级分类 {depth['level1_only']}"
                   + (f"，经对照表 {h['mapped_by_label_map']}" if h["mapped_by_label_map"] else "")
                   + f"），跳过 {h['skipped']} 行")
        if h["skipped_by_reason"]:
            click.echo("  跳过原因：" + "；".join(f"{SKIP_REASONS[r]} {n} 行"
                                             for r, n in h["skipped_by_reason"].items()))
        unknown = list(h["unknown_labels"].items())
        if unknown:
            click.echo(f"  无法识别的分类（{len(unknown)} 种，可用 --label-map 对照）："
                       + "；".join(f"{label} {n} 行" for label, n in unknown[:12])
                       + ("；……" if len(unknown) > 12 else ""))
        for item in h["conflicts"][:3]:
            click.echo(f"  分类矛盾：“{item['text']}” → {' / '.join(item['labels'])}")
    cv = d.get("cross_validation")
    if cv:
        def pair(figures):
            return "—" if not figures else f"宏F1 {figures['macro_f1']:.3f}  准确率 {figures['accuracy']:.3f}"

        def block(title, b):
            click.echo(f"  {title}（{b['n']} 条）")
            for level, name in (("level1", "一级"), ("level2", "二级")):
                if b["model"][level]:
                    click.echo(f"    {name}  模型 {pair(b['model'][level])}   "
                               f"基线 {pair(b['baseline'][level])}")

        click.echo(f"{cv['k']} 折交叉验证（基线：TF-IDF + LinearSVC，同样的折）：")
        block("全部", cv)
        for name, title in (("level1_only", "只有一级分类的行"), ("level2", "有二级分类的行")):
            if name in cv["by_depth"]:
                block(title, cv["by_depth"][name])
    if "model" in d:
        click.echo(f"模型已训练：{d['model']}（用时 {d['train_seconds']} 秒）")
    else:
        click.echo("未训练模型（--dry-run）")


# ---------------------------------------------------------------------- taxonomy
@main.group()
def taxonomy() -> None:
    """Adopt an agency's own taxonomy."""


@taxonomy.command("import")
@click.option("--history", "histories", multiple=True, required=True,
              type=click.Path(dir_okay=False), help="CSV/Excel of work orders; repeatable.")
@click.option("--level-cols", required=True,
              help="The agency's level columns, first level first (一级分类,二级分类); one column "
                   "may hold a whole path (城管问题/市容环境/占道经营).")
@click.option("--unit-col", help="Handling-unit column: the most frequent unit becomes the body.")
@click.option("--out", default="var/taxonomy", show_default=True, type=click.Path(file_okay=False),
              help="Data directory to write (taxonomy.yml, county/); run on it with BOT_DATA_DIR.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
@_nlu_errors
def taxonomy_import_cmd(histories, level_cols, unit_col, out, as_json) -> None:
    """Make the agency's first two levels our categories, with their most frequent unit as body."""
    from pathlib import Path

    from bot.nlu.taxonomy_import import TaxonomyImportError, import_taxonomy

    settings = Settings.from_env()
    try:
        result = import_taxonomy([Path(h) for h in histories],
                                 [c.strip() for c in level_cols.split(",") if c.strip()],
                                 unit_col, settings.data_dir, Path(out))
    except TaxonomyImportError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(2)

    def human(d):
        click.echo(f"已生成分类表：{d['out']}/taxonomy.yml（{d['level1']} 个一级、"
                   f"{len(d['categories'])} 个二级分类，来自 {d['rows']} 行；"
                   f"没有一级分类的 {d['skipped_no_level1']} 行未用）")
        for c in d["categories"][:40]:
            click.echo(f"  {c['code']:<16} {c['level1']}/{c['level2']}  {c['rows']} 行  "
                       f"承办：{c['unit'] or '（未注明，按其他事项派）'}"
                       + ("  （沿用本系统分类）" if c["reused"] else ""))
        if d["new_bodies"]:
            click.echo(f"  新增承办单位 {len(d['new_bodies'])} 个（县级），见 {d['out']}/county/bodies.yml")
        click.echo(f"启用：BOT_DATA_DIR={d['out']}，再用 bot train --history … --label-col 一级列,二级列 训练模型")
    _emit(result.report(), as_json, human)


# ---------------------------------------------------------------------- commands kept with their feature
def _register_feature_commands() -> None:
    from bot.cases.hotspots_cli import hotspots_command
    from bot.channels.telegram_cli import telegram
    from bot.intake.cli import intake
    from bot.open311.cli import open311
    from bot.run import run_command
    from bot.staff.cli import staff
    from bot.trackers import trackers

    for command in (intake, telegram, run_command, trackers, staff, hotspots_command,
                    open311):
        main.add_command(command)


_register_feature_commands()

if __name__ == "__main__":
    main()
