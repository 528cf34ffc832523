"""Custom actions of the intake assistant, run by the rasa-sdk action server (Python 3.11):

    .venv/app/bin/python -m rasa_sdk --actions actions

Actions are thin: read the tracker, call the case service or a catalog, say something. The
service container is built lazily, once, on first use (see `actions.runtime`).
"""

import os  # noqa: E402

# WARM_MODELS is set for the action server by `bot run`; only Sanic's worker process serves
# (it imports this package again), so the manager process does not fit models it never uses.
if os.environ.get("WARM_MODELS") == "1" and os.environ.get("SANIC_WORKER_NAME"):
    from bot.nlu.warm import warm_in_background

    warm_in_background()    # the first resident of the day does not wait for the models
