"""The Telegram door (python-telegram-bot 22).

    adapter.py   updates -> Rasa gateway -> replies; per-chat order; retries when Rasa is down
    store.py     telegram_updates table: each update_id handled once, kept until handled
    webhook.py   the ASGI endpoint Telegram posts to (secret header checked, answers at once)
    runner.py    polling / webhook main loops and the factory from settings
    sender.py    TelegramSender: the outbox `Sender` for case notifications
    render.py    Rasa replies -> Telegram messages (4096-char split, inline keyboards)
    media.py     photos and documents -> var/attachments/
    texts.py     what residents read; the command list

Nothing here is built at import time; `runner.build_adapter` is the one place that does.
"""
