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
