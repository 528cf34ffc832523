"""Rasa's REST channel, except that a turn that was not saved is refused (HTTP 503), so the
channels send it again (runs in the Rasa environment).

Rasa's channel answers 200, with whatever the bot said so far, when handling a message raised
(the lock store or the tracker store down, e.g. Redis restarting): the turn was never saved,
yet the channels took it as handled and the resident's message was lost. Here it is 503.

Rasa 3.6 carries on when it cannot reach the action server: the custom action's events are
lost, the turn ends with whatever was said before, the tracker is saved with the resident's
message in it, and the REST channel answers 200. The channels (bot/web/relay.py, the Telegram
adapter) take that turn as handled: the message is never sent again, and the confirmation that
should have opened a case opens none. Here, when a custom action of the turn could not reach
the action server (connection refused or dropped, a timeout), the tracker is not saved and the
channel answers 503; the channels keep the message, tell the resident politely, and send it
again once the action server is back (actions are idempotent on the message's `message_id`).
An action server that answers with an error is not "down": that stays Rasa's way.

Configured in credentials.yml as `rasa_tools.rest.RestInput:`; same URL, /webhooks/rest/webhook.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response

logger = logging.getLogger(__name__)

# The custom actions of the current turn that could not reach the action server; None outside
# a turn received by this channel.
_unreachable: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "action_server_unreachable", default=None)
_installed = False


class ActionServerUnreachable(Exception):
    """Raised instead of saving a tracker whose turn missed the action server."""


def _install() -> None:
    global _installed
    if _installed:
        return
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor

    rasa_run, rasa_save = RemoteAction.run, MessageProcessor.save_tracker

    async def run(self, *args, **kwargs):
        try:
            return await rasa_run(self, *args, **kwargs)
        except Exception as exc:
            cause = exc.__cause__ or exc.__context__
            failed = _unreachable.get()
            if failed is not None and any(isinstance(e, (aiohttp.ClientConnectionError,
                                                         asyncio.TimeoutError))
                                          for e in (exc, cause)):
                failed.append(self.name())
            raise

    async def save_tracker(self, tracker) -> None:
        failed = _unreachable.get()
        if failed:
            raise ActionServerUnreachable(f"action server unreachable for {', '.join(failed)}")
        await rasa_save(self, tracker)

    run.__doc__, save_tracker.__doc__ = rasa_run.__doc__, rasa_save.__doc__
    RemoteAction.run, MessageProcessor.save_tracker = run, save_tracker
    _installed = True


class RestInput(RasaRestInput):
    """`rest` (the name, hence the URL, of Rasa's channel); no `stream` mode."""

    def blueprint(self, on_new_message) -> Blueprint:
        _install()
        hook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(request):
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request):
            collector = CollectingOutputChannel()
            message = UserMessage(self._extract_message(request), collector,
                                  await self._extract_sender(request),
                                  input_channel=self._extract_input_channel(request),
                                  metadata=self.get_metadata(request))
            failed: list[str] = []
            token = _unreachable.set(failed)
            try:
                await on_new_message(message)
            except Exception as exc:  # noqa: BLE001 - the turn was not saved: to be sent again
                if isinstance(exc, ActionServerUnreachable):
                    logger.warning("turn not saved, the message is to be sent again: %s", exc)
                else:
                    logger.exception("turn not saved, the message is to be sent again")
                return response.json({"error": "turn not saved", "reason": str(exc)[:200],
                                      "actions_unreachable": failed}, status=503)
            finally:
                _unreachable.reset(token)
            return response.json(collector.messages)

        return hook
