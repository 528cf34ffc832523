"""Hot spots of Rasa 3.6 fixed from the outside (issue 12), installed when Rasa imports
`rasa_tools` (the pipeline and policies live here), without editing the installed Rasa.

- `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)` on every
  action-server response. `jsonschema.validate` first checks the schema itself against the
  meta-schema and builds a new validator each time: under load that was ~55% of the Rasa
  process's CPU. Here one validator is built and checked once; a valid response costs one
  `is_valid`, and an invalid one still goes through Rasa's own method, so the error (and its
  message) is exactly Rasa's. Its `events` are an array of `oneOf` 23 event schemas, so each
  event was checked against all 23; as every one of them fixes `event` to its own constant,
  the event can only match the one named by its `event`, and `valid_response` checks just that
  one (anything it does not accept goes through the full validator, then Rasa's).
- `Event.resolve_by_type` walks every subclass of `Event` (with `inspect.isabstract` on each)
  for every event it reads back from the tracker store or an action: ~6% of Rasa's time.
  Here the class found for a type name is remembered (`Event` subclasses are defined once, at
  import); unknown names still take Rasa's way and its error.
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
    quick = response_checker(schema, cls)
    rasa_validate = RemoteAction._validate_action_result

    def _validate_action_result(self, result):
        if quick(result) or validator.is_valid(result):
            return True
        return rasa_validate(self, result)     # raises Rasa's ValidationError

    _validate_action_result.__doc__ = rasa_validate.__doc__
    RemoteAction._validate_action_result = _validate_action_result
    _install_event_lookup()
    _install_shared_sessions()
    _installed = True


def response_checker(schema: dict, cls):
    """A function telling, True only for a response `schema` accepts, whether an action
    server's response is valid, each event checked against its own type's schema only."""
    events_schema = schema["properties"]["events"]
    event_schema = events_schema["items"]
    base = {k: v for k, v in event_schema.items() if k != "oneOf"}
    by_type = {}
    for alternative in event_schema["oneOf"]:
        name = alternative["properties"]["event"]["const"]
        by_type[name] = cls({**base, "allOf": [alternative]})
    if len(by_type) != len(event_schema["oneOf"]) or set(events_schema) != {"type", "items"}:
        return lambda result: False                    # not the schema this was made for
    rest = cls({**schema, "properties": {k: v for k, v in schema["properties"].items()
                                         if k != "events"}})

    def valid_response(result) -> bool:
        if not isinstance(result, dict) or not rest.is_valid(result):
            return False
        events = result.get("events", [])
        if not isinstance(events, list):
            return False
        for event in events:
            name = event.get("event") if isinstance(event, dict) else None
            if not isinstance(name, str) or name not in by_type or not by_type[name].is_valid(event):
                return False
        return True

    return valid_response


def _install_event_lookup() -> None:
    from rasa.shared.core.events import Event

    rasa_resolve = Event.resolve_by_type
    found: dict = {}

    def resolve_by_type(type_name, default=None):
        cls = found.get(type_name) if isinstance(type_name, str) else None
        if cls is None:
            cls = rasa_resolve(type_name, default)
            if cls is not None and cls is not default and isinstance(type_name, str):
                found[type_name] = cls
        return cls

    resolve_by_type.__doc__ = rasa_resolve.__doc__
    Event.resolve_by_type = staticmethod(resolve_by_type)


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
