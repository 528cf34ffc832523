"""The trained model for tests marked `rasa`: models/current.tar.gz (built by `make model`),
trained once with scripts/train.sh when missing or older than its inputs."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot.settings import ROOT

MODEL = ROOT / "models" / "current.tar.gz"
RASA = ROOT / ".venv" / "rasa" / "bin" / "rasa"
INPUTS = ["config.yml", "domain.yml", "data/rules.yml", "data/stories.yml", "data/nlu",
          "data/jieba", "rasa_tools/components.py"]


def _newest_input() -> float:
    newest = 0.0
    for name in INPUTS:
        path = ROOT / name
        files = [path] if path.is_file() else list(path.rglob("*")) if path.is_dir() else []
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def rasa_env() -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    if not RASA.is_file():
        pytest.skip("the Rasa environment .venv/rasa is missing (make rasa-env)")
    if not MODEL.is_file() or MODEL.stat().st_mtime < _newest_input():
        proc = subprocess.run([str(ROOT / "scripts" / "train.sh"), str(MODEL)], cwd=ROOT,
                              env=rasa_env(), capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return MODEL
