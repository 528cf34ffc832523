"""`python -m bot.web.serve`: the app process `bot run` starts (uvicorn + background loops)."""
from __future__ import annotations

import logging
import os


def main() -> None:
    import uvicorn

    from bot.container import Container
    from bot.logs import setup_logging
    from bot.settings import Settings
    from bot.web.app import create_app

    setup_logging(logging.INFO)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    settings = Settings.from_env()
    app = create_app(Container(settings), background=True)

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            # Open chat pages hold SSE streams; end them first so shutdown does not wait.
            app.state.chat.hub.close()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(app, host=os.environ.get("APP_HOST", "127.0.0.1"),
                            port=settings.app_port, log_config=None, access_log=False,
                            timeout_graceful_shutdown=3)
    Server(config).run()


if __name__ == "__main__":
    main()
