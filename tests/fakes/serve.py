"""Both fakes in one process, for manual runs and the bench (`bot telegram` runs separately):

    .venv/app/bin/python -m tests.fakes.serve --telegram-port 8081 --rasa-port 5005 [--rasa-delay 0.3]
    TELEGRAM_BOT_TOKEN=123456:TEST-fake-token TELEGRAM_API_BASE_URL=http://127.0.0.1:8081 \\
        RASA_URL=http://127.0.0.1:5005 .venv/app/bin/bot telegram
    curl -d '{"chat_id": 42, "text": "你好"}' http://127.0.0.1:8081/_fake/message
"""
from __future__ import annotations

import argparse
import signal
import threading

from tests.fakes.rasa_rest import FakeRasa
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fake Telegram Bot API + Rasa REST stand-in")
    parser.add_argument("--telegram-port", type=int, default=8081)
    parser.add_argument("--rasa-port", type=int, default=5005)
    parser.add_argument("--rasa-delay", type=float, default=0.0)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    telegram = FakeTelegram(args.token, port=args.telegram_port).start()
    rasa = FakeRasa(delay=args.rasa_delay, port=args.rasa_port).start()
    print(f"telegram {telegram.base_url} rasa {rasa.url}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    rasa.stop()
    telegram.stop()


if __name__ == "__main__":
    main()
