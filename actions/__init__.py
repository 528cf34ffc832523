"""Custom actions of the intake assistant, run by the rasa-sdk action server (Python 3.11):

    .venv/app/bin/python -m rasa_sdk --actions actions

Actions are thin: read the tracker, call the case service or a catalog, say something. The
service container is built lazily, once, on first use (see `actions.runtime`).
"""
