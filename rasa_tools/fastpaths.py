"""Hot spots of Rasa 3.6 fixed from the outside (issue 12), installed when Rasa imports
`rasa_tools` (the pipeline and policies live here), without editing the installed Rasa.

- `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)` on every
  action-server response. `jsonschema.validate` first checks the schema itself against the
  meta-schema and builds a new validator each time: under load that was ~55% of the Rasa
  process's CPU. Here one validator is built and checked once; a valid response costs one
  `is_valid`, and an invalid one still goes through Rasa's own method, so the error (and its
  message) is exactly Rasa's.
- `EndpointConfig.request` opens a new `aiohttp.ClientSession` — a new TCP connection — for
  every call; Rasa calls the action server three times for most messages. Here each endpoint
  keeps one session per event loop and its keep-alive connections (idle ones are dropped after
  `KEEPALIVE_SECONDS`, before Sanic's own 5 s, so a connection the server closed is not
  reused); headers, auth, timeouts and errors stay Rasa's.
"""
from __future__ import annotations

_installed = False
KEEPALIVE_SECONDS = 2.0


def install() -> None:
    global _installed
    if _installed:
        return
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    rasa_validate = RemoteAction._validate_action_result

    def _validate_action_result(self, result):
        if validator.is_valid(result):
            return True
        return rasa_validate(self, result)     # raises Rasa's ValidationError

    _validate_action_result.__doc__ = rasa_validate.__doc__
    RemoteAction._validate_action_result = _validate_action_result
    _install_shared_sessions()
    _installed = True


class _Borrowed:
    """`async with` over a shared session that leaves it open."""

    def __init__(self, session) -> None:
        self.session = session

    async def __aenter__(self):
        return self.session

    async def __aexit__(self, *exc) -> None:
        return None


def _install_shared_sessions() -> None:
    import asyncio

    import aiohttp
    from rasa.utils.endpoints import EndpointConfig

    rasa_session = EndpointConfig.session

    def session(self):
        """One client session per endpoint and event loop, its connections kept alive."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:                      # not inside a loop: Rasa's own
            return rasa_session(self)
        shared = self.__dict__.get("_shared_session")
        if shared is None or shared.closed or shared._loop is not loop:
            fresh = rasa_session(self)            # Rasa's headers, auth and timeout …
            connector = aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS)
            shared = aiohttp.ClientSession(headers=fresh.headers, auth=fresh.auth,
                                           timeout=fresh.timeout, connector=connector)
            loop.create_task(fresh.close())       # … and no connection of its own
            self.__dict__["_shared_session"] = shared
        return _Borrowed(shared)

    session.__doc__ = rasa_session.__doc__
    EndpointConfig.session = session
