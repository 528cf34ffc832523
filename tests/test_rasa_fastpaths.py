"""The cached action-response validator inside the Rasa environment (rasa_tools/fastpaths.py):
valid responses pass, invalid ones still raise Rasa's own ValidationError and message."""
from __future__ import annotations

import json
import subprocess

import pytest

from bot.nlu.rasa import RASA_PYTHON
from bot.settings import ROOT

pytestmark = [pytest.mark.rasa]

PROBE = r"""
import json, sys
import rasa_tools
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
action = RemoteAction("action_x", None)
out = {"patched": RemoteAction._validate_action_result.__module__}
out["valid"] = action._validate_action_result(
    {"events": [{"event": "slot", "name": "place", "value": "南门", "timestamp": None}],
     "responses": [{"text": "好的"}]})
for name, bad in [("bad_event", {"events": [{"event": 5}], "responses": []}),
                  ("bad_responses", {"events": [], "responses": "好的"})]:
    try:
        action._validate_action_result(bad)
        out[name] = "accepted"
    except ValidationError as exc:
        out[name] = "Failed to validate Action server response" in exc.message
print(json.dumps(out))
"""


def test_cached_validator_accepts_valid_and_refuses_invalid_responses_as_rasa_does():
    done = subprocess.run([str(RASA_PYTHON), "-c", PROBE], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"patched": "rasa_tools.fastpaths", "valid": True, "bad_event": True,
                   "bad_responses": True}


SESSIONS = r"""
import asyncio, json
import rasa_tools
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

async def main():
    peers, headers = [], []
    async def hook(request):
        peers.append(request.transport.get_extra_info("peername")[1])
        headers.append(request.headers.get("X-Test"))
        body = await request.json()
        return web.json_response({"events": [], "responses": [{"text": body["next_action"]}]})
    app = web.Application()
    app.router.add_post("/webhook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = EndpointConfig(url=f"http://127.0.0.1:{port}/webhook", headers={"X-Test": "1"})
    said = [(await endpoint.request(json={"next_action": f"a{i}"}, method="post"))
            ["responses"][0]["text"] for i in range(3)]
    await runner.cleanup()                      # the action server restarts on the same port
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    said.append((await endpoint.request(json={"next_action": "b"}, method="post"))
                ["responses"][0]["text"])
    await runner.cleanup()
    try:
        await endpoint.request(json={"next_action": "c"}, method="post")
        down = "answered"
    except Exception as exc:       # the class RemoteAction turns into "action server down"
        import aiohttp
        down = isinstance(exc, aiohttp.ClientConnectionError)
    print(json.dumps({"said": said, "connections_for_three": len(set(peers[:3])),
                      "headers": headers, "down": down}))

asyncio.run(main())
"""


def test_action_calls_share_one_kept_alive_connection_and_survive_a_server_restart():
    done = subprocess.run([str(RASA_PYTHON), "-c", SESSIONS], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"said": ["a0", "a1", "a2", "b"], "connections_for_three": 1,
                   "headers": ["1", "1", "1", "1"], "down": True}


EQUIVALENCE = r"""
import copy, json, random
import rasa_tools
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.core import events as ev
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa_tools.fastpaths import response_checker

schema = RemoteAction.action_response_format_spec()
cls = validator_for(schema)
full, quick = cls(schema), response_checker(schema, cls)
samples = [ev.UserUttered("路灯坏了", {"name": "report", "confidence": 0.9},
                          [{"entity": "place", "value": "文化路", "start": 0, "end": 3}]),
           ev.SlotSet("place", "文化路28号"), ev.SlotSet("contact", None), ev.ActiveLoop("report_form"),
           ev.ActiveLoop(None), ev.ActionExecuted("action_listen"), ev.BotUttered("好的", {"buttons": []}),
           ev.SessionStarted(), ev.Restarted(), ev.AllSlotsReset(), ev.FollowupAction("utter_x"),
           ev.ReminderScheduled("remind", __import__("datetime").datetime(2030, 1, 1)),
           ev.ActionExecutionRejected("action_x"), ev.LoopInterrupted(True), ev.UserUtteranceReverted(),
           ev.ActionReverted(), ev.ConversationPaused(), ev.ConversationResumed(), ev.EntitiesAdded([])]
good = [e.as_dict() for e in samples]
rng = random.Random(7)
junk = [None, 5, "x", [], {}, {"a": 1}, True, 1.5, [1], {"event": "slot"}]
cases = [{"events": good, "responses": [{"text": "好"}]}, {"events": []}, {}, {"responses": []}]
for _ in range(3000):
    response = {"events": copy.deepcopy(rng.sample(good, rng.randint(0, 5))),
                "responses": [{"text": "好"}]}
    for _ in range(rng.randint(0, 3)):
        target = response
        if isinstance(response["events"], list) and response["events"] and rng.random() < 0.8:
            target = rng.choice(response["events"])
            target = target if isinstance(target, dict) else response
            if isinstance(target.get("parse_data"), dict) and rng.random() < 0.3:
                target = target["parse_data"]
        key = rng.choice(list(target) + ["event", "name", "value", "timestamp", "extra"])
        target[key] = rng.choice(junk + [rng.choice(["user", "slot", "bot", "nope", "topic"])])
    if rng.random() < 0.05:
        response["events"] = rng.choice(junk)
    cases.append(response)
differ = [c for c in cases if quick(c) != full.is_valid(c)]
names = {c.type_name for c in all_subclasses(Event)}
rasa_way = {n: next(c for c in all_subclasses(Event) if c.type_name == n) for n in names}
try:
    Event.resolve_by_type("no_such_event")
    unknown = "accepted"
except ValueError as exc:
    unknown = str(exc)
print(json.dumps({"cases": len(cases), "valid": sum(map(full.is_valid, cases)),
                  "differ": differ[:3], "good_quick": quick({"events": good}),
                  "lookup_same": all(Event.resolve_by_type(n) is rasa_way[n] for n in names) and
                                 all(Event.resolve_by_type(n) is rasa_way[n] for n in names),
                  "topic": Event.resolve_by_type("topic"), "unknown": unknown,
                  "default": Event.resolve_by_type("nope", ev.SlotSet) is ev.SlotSet},
                 ensure_ascii=False, default=str))
"""


def test_the_per_type_check_agrees_with_the_full_schema_and_the_event_lookup_with_rasa():
    done = subprocess.run([str(RASA_PYTHON), "-c", EQUIVALENCE], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["differ"] == [] and out["good_quick"] is True
    assert 500 < out["valid"] < out["cases"]          # both kinds were really tried
    assert out["lookup_same"] and out["topic"] is None and out["default"]
    assert out["unknown"] == "Unknown event name 'no_such_event'."
