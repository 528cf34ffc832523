"""`bot run` keeps every child on the loopback interface unless a setting says otherwise."""
from __future__ import annotations

import sys

from bot.run import plan
from bot.settings import Settings


def _plan(tmp_path, **env):
    model = tmp_path / "m.tar.gz"
    model.write_bytes(b"")
    environ = {"RASA_MODEL": str(model), "RASA_BIN": sys.executable, **env}
    settings = Settings.from_env({"BOT_VAR_DIR": str(tmp_path / "var"), **env})
    return {c.name: c for c in plan(settings, environ)}


def test_every_child_binds_to_loopback_by_default(tmp_path):
    children = _plan(tmp_path)
    rasa = children["rasa"].argv
    assert rasa[rasa.index("-i") + 1] == "127.0.0.1"
    # rasa_sdk listens on SANIC_HOST, and on every interface when it is unset.
    assert children["actions"].env["SANIC_HOST"] == "127.0.0.1"
    assert children["app"].env["APP_HOST"] == "127.0.0.1"


def test_hosts_follow_their_settings(tmp_path):
    children = _plan(tmp_path, ACTION_HOST="10.0.0.5", APP_HOST="10.0.0.6",
                     RASA_URL="http://10.0.0.7:5005")
    rasa = children["rasa"].argv
    assert rasa[rasa.index("-i") + 1] == "10.0.0.7"
    assert children["actions"].env["SANIC_HOST"] == "10.0.0.5"
    assert children["app"].env["APP_HOST"] == "10.0.0.6"
