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
