"""`bot telegram`: the Telegram door, by long polling (default) or by webhook."""
from __future__ import annotations

import logging
import sys

import click


@click.command("telegram")
@click.option("--webhook", "webhook_url", metavar="URL",
              help="Public HTTPS URL Telegram posts updates to (e.g. https://host/telegram/webhook); "
                   "long polling when omitted.")
@click.option("--secret", envvar="TELEGRAM_WEBHOOK_SECRET", metavar="S",
              help="Webhook secret token (A-Z a-z 0-9 _ -); random when omitted. "
                   "Also read from TELEGRAM_WEBHOOK_SECRET.")
@click.option("--listen", default="127.0.0.1", show_default=True, help="Webhook: address to bind.")
@click.option("--port", default=8443, show_default=True, type=int, help="Webhook: port to bind.")
def telegram(webhook_url, secret, listen, port) -> None:
    """Serve residents on Telegram (needs TELEGRAM_BOT_TOKEN; RASA_URL for the dialogue)."""
    from bot.cli import handle_errors   # here, not at import: bot.cli imports this module

    handle_errors(_serve)(webhook_url, secret, listen, port)


def _serve(webhook_url, secret, listen, port) -> None:
    import asyncio

    from telegram.error import InvalidToken, NetworkError, TelegramError

    from bot.channels.telegram.runner import run

    # httpx logs every request URL at INFO, and a Bot API URL carries the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from bot.container import Container
    from bot.settings import Settings

    container = Container(Settings.from_env())
    settings = container.settings
    if not settings.telegram_bot_token:
        click.echo("错误：未设置 TELEGRAM_BOT_TOKEN，无法启动 Telegram 服务", err=True)
        sys.exit(2)
    if webhook_url and not webhook_url.startswith(("https://", "http://127.", "http://localhost")):
        click.echo("错误：--webhook 必须是 https:// 地址 (Telegram only posts to HTTPS)", err=True)
        sys.exit(2)

    def ready(adapter) -> None:
        mode = f"webhook {webhook_url} (listening on {listen}:{port})" if webhook_url else "long polling"
        click.echo(f"Telegram 服务已启动：@{adapter.bot.username}，{mode}")

    try:
        asyncio.run(run(settings, container.engine, webhook_url=webhook_url, secret=secret,
                        listen=listen, port=port, ready=ready))
        click.echo("Telegram 服务已停止")
    except KeyboardInterrupt:
        click.echo("Telegram 服务已停止")
    except InvalidToken:
        click.echo("错误：Telegram 拒绝了 TELEGRAM_BOT_TOKEN（令牌无效）", err=True)
        sys.exit(4)
    except NetworkError as exc:
        click.echo(f"错误：无法连接 Telegram 服务器，请检查网络或 TELEGRAM_API_BASE_URL ({exc})", err=True)
        sys.exit(4)
    except TelegramError as exc:
        click.echo(f"错误：Telegram 接口出错 ({exc})", err=True)
        sys.exit(4)
