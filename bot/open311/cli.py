"""`bot open311 key create NAME [--json]` / `bot open311 key revoke NAME`: Open311 clients' keys.

A key is printed once (alone on stdout, or as `{"name", "key"}` with `--json`) and kept hashed.
"""
from __future__ import annotations

import functools

import click


def _keys():
    from bot.cli import _container
    from bot.open311.keys import ApiKeys

    container = _container()
    return ApiKeys(container.engine), container.cases.clock


@click.group("open311")
def open311() -> None:
    """Open311 GeoReport v2: API keys of the client systems."""


@open311.group("key")
def key() -> None:
    """Create or revoke a client's API key."""


def _handled(func):
    """Errors as every `bot` command ends them (looked up at call time: bot.cli imports us)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from bot.cli import handle_errors

        return handle_errors(func)(*args, **kwargs)
    return wrapper


@key.command("create")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="print {\"name\", \"key\"}")
@_handled
def create(name: str, as_json: bool) -> None:
    """Issue a key for client NAME (replacing its old key); printed once."""
    from bot.cli import _emit

    keys, clock = _keys()
    value = keys.create(name, clock())
    _emit({"name": name, "key": value}, as_json, lambda d: click.echo(d["key"]))


@key.command("revoke")
@click.argument("name")
@_handled
def revoke(name: str) -> None:
    """End client NAME's key (a running app refuses it within 2 s: its key cache)."""
    from bot.cli import refuse

    keys, clock = _keys()
    if not keys.revoke(name, clock()):
        refuse(f"没有名为 {name} 的有效 Open311 密钥", f"no live Open311 key named {name!r}")
    click.echo(f"已停用 {name} 的 Open311 密钥")
