"""Rasa's own checks of the dialogue: `rasa data validate` and the conversation tests."""
from __future__ import annotations

import re
import subprocess

import pytest

from bot.settings import ROOT
from tests.rasa_model import RASA, rasa_env, rasa_model  # noqa: F401

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


def test_rasa_data_validate_has_no_warning():
    if not RASA.is_file():
        pytest.skip("the Rasa environment .venv/rasa is missing")
    proc = subprocess.run([str(RASA), "data", "validate", "--domain", "domain.yml", "--data",
                           "data/nlu", "data/rules.yml", "data/stories.yml"],
                          cwd=ROOT, env=rasa_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    output = proc.stdout + proc.stderr
    warnings = [re.sub(r"\x1b\[[0-9;]*m", "", line).split("UserWarning: ", 1)[1].strip()
                for line in output.splitlines() if "UserWarning: " in line]
    assert warnings == []
    assert "No story structure conflicts found" in output


def test_conversation_stories_have_no_prediction_error(rasa_model, tmp_path):
    proc = subprocess.run([str(RASA), "test", "core", "--stories", "tests/conversations",
                           "-m", str(rasa_model), "--out", str(tmp_path),
                           "--fail-on-prediction-errors"],
                          cwd=ROOT, env=rasa_env(), capture_output=True, text=True, timeout=900)
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text(encoding="utf-8") if failed.is_file() else proc.stdout[-4000:]
    assert proc.returncode == 0, detail + proc.stderr[-2000:]
    assert re.search(r"Correct:\s+(\d+) / \1", proc.stdout + proc.stderr)
