"""Local stand-ins for services this machine cannot reach (Telegram) or that others build (Rasa)."""
