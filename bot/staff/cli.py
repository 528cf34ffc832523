"""`bot staff …`: staff accounts, API tokens and TOTP, for whoever runs the service.

Passwords are read from standard input (`--password-stdin`), never from the command line
(where `ps` and the shell history would keep them). A token is printed once, alone on stdout.
"""
from __future__ import annotations

import functools
import sys

import click

from bot.staff.principal import ROLE_LABELS, Role


def _staff_errors(func):
    """A StaffError ends the command with its one-line reason: exit 3 when a server is down,
    else 2; everything else as every `bot` command (handle_errors)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from bot.cli import handle_errors, printable
        from bot.staff.errors import StaffError

        try:
            return handle_errors(func)(*args, **kwargs)
        except StaffError as exc:
            click.echo(printable(f"错误：{exc}"), err=True)
            sys.exit(3 if exc.status >= 500 else 2)
    return wrapper


def _service():
    from bot.cli import _container

    return _container().staff


def _password(flag: bool) -> str:
    from bot.cli import refuse

    if not flag:
        refuse("请用 --password-stdin 从标准输入提供密码（不要写在命令行上）",
               "give the password on standard input with --password-stdin")
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("密码：")
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def _emit(data, as_json: bool, human) -> None:
    from bot.cli import _emit as emit

    emit(data, as_json, human)


@click.group("staff")
def staff() -> None:
    """Staff accounts of the console: add, list, disable, passwords, API tokens, TOTP."""


@staff.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="agent 代理员 | body 承办单位 | operator 话务员 | supervisor 督办 | admin 管理员")
@click.option("--agent", "agent_code", help="Agent code of data/county/ (role agent).")
@click.option("--body", "body_code", help="Body code of data/county/bodies.yml (role body).")
@click.option("--name", help="The person's name, e.g. 王小明.")
@click.option("--password-stdin", "password_stdin", is_flag=True,
              help="Read the password from standard input (required).")
@click.option("--json", "as_json", is_flag=True)
@_staff_errors
def staff_add(username, role, agent_code, body_code, name, password_stdin, as_json) -> None:
    """Add a staff account."""
    password = _password(password_stdin)
    added = _service().add(username, role, password, name=name, agent_code=agent_code,
                           body_code=body_code)
    _emit(added.to_dict(), as_json, lambda d: click.echo(
        f"已添加{d['role_label']}账号 {d['username']}"
        + (f"（{d['name']}）" if d["name"] else "")
        + (f"，代理员编号 {d['agent']}" if d["agent"] else "")
        + (f"，承办单位 {d['body']}" if d["body"] else "")))


@staff.command("list")
@click.option("--json", "as_json", is_flag=True)
@_staff_errors
def staff_list(as_json) -> None:
    """All staff accounts."""
    def human(rows):
        if not rows:
            click.echo("还没有工作人员账号。用 bot staff add 添加。")
        for r in rows:
            tie = r["agent"] or r["body"] or "-"
            click.echo(f"{r['username']:<20} {ROLE_LABELS[Role(r['role'])]:<5} {tie:<12} "
                       f"{r['name'] or '-':<8} {'已停用' if r['disabled'] else '正常'}"
                       f"{'  动态验证码' if r['totp'] else ''}")
    _emit(_service().list(), as_json, human)


@staff.command("disable")
@click.argument("username")
@_staff_errors
def staff_disable(username) -> None:
    """Disable an account; all its sessions and API tokens end."""
    _service().disable(username)
    click.echo(f"已停用账号 {username.lower()}，其所有登录和令牌已失效")


@staff.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", "password_stdin", is_flag=True,
              help="Read the new password from standard input (required).")
@_staff_errors
def staff_reset_password(username, password_stdin) -> None:
    """Set a new password; all sessions and API tokens of the account end."""
    password = _password(password_stdin)
    _service().reset_password(username, password)
    click.echo(f"已重设账号 {username.lower()} 的密码，其所有登录和令牌已失效")


@staff.group("token")
def token() -> None:
    """API tokens for machine clients."""


@token.command("create")
@click.argument("username")
@click.option("--label", help="What the token is for, e.g. 12345 接口.")
@click.option("--json", "as_json", is_flag=True)
@_staff_errors
def token_create(username, label, as_json) -> None:
    """Create an API token; it is shown this once and cannot be shown again."""
    value = _service().create_token(username, label)
    if as_json:
        _emit({"username": username.lower(), "label": label, "token": value}, True, None)
        return
    click.echo("API 令牌只显示这一次，请妥善保存（在请求头 Authorization: Bearer … 中使用）：",
               err=True)
    click.echo(value)


@token.command("revoke")
@click.argument("username")
@_staff_errors
def token_revoke(username) -> None:
    """Revoke every API token of the account."""
    count = _service().revoke_tokens(username)
    click.echo(f"已作废账号 {username.lower()} 的 {count} 个令牌")


@staff.group("totp")
def totp() -> None:
    """Dynamic codes (TOTP) for supervisors and admins."""


@totp.command("enable")
@click.argument("username")
@_staff_errors
def totp_enable(username) -> None:
    """Give the account a new TOTP secret; print the URI for an authenticator app."""
    uri = _service().enable_totp(username)
    click.echo("请用手机验证器（如 Google Authenticator、微软验证器）添加下面的地址，"
               "此后登录需要输入动态验证码：", err=True)
    click.echo(uri)
