"""The Rasa-model classifier: categories from the ResponseSelector of a trained model.

Rasa 3.6 lives in its own Python 3.10 environment, so this module never imports it. It talks
to a model either through a running Rasa server (`/model/parse` at RASA_URL) or, with no
server, through `rasa_tools/parse.py` run as a subprocess of the Rasa environment.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import httpx

from bot.catalog import Catalog
from bot.nlu import Classification, make_classification
from bot.settings import ROOT

DEFAULT_MODEL = ROOT / "models" / "current.tar.gz"
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
PARSE_SCRIPT = ROOT / "rasa_tools" / "parse.py"
FALLBACK_CODE = "other.misc"


class ParserError(RuntimeError):
    """The model could not be loaded or did not answer."""


class Parser(Protocol):
    def parse(self, texts: list[str]) -> list[dict]: ...
    def close(self) -> None: ...


class SubprocessParser:
    """Keeps one `rasa_tools/parse.py` process; texts go in and results come out as JSON lines."""

    def __init__(self, model: Path = DEFAULT_MODEL, python: Path = RASA_PYTHON,
                 load_timeout: float = 180.0) -> None:
        self.model = Path(model)
        self.python = Path(python)
        self.load_timeout = load_timeout
        self.load_seconds: float | None = None
        self._proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if not self.model.is_file():
            raise ParserError(f"no trained model at {self.model} (run `make model` or `bot train`)")
        if not self.python.is_file():
            raise ParserError(f"the Rasa environment is missing ({self.python}); run `make rasa-env`")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONIOENCODING": "utf-8"}
        self._proc = subprocess.Popen(
            [str(self.python), str(PARSE_SCRIPT), str(self.model)], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, encoding="utf-8", bufsize=1)
        ready = self._readline(self.load_timeout)
        if not ready.get("ready"):
            raise ParserError("the model did not load")
        self.load_seconds = ready.get("load_seconds")
        return self._proc

    def _readline(self, timeout: float) -> dict:
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        result: list[str] = []

        def read() -> None:
            while True:
                line = stdout.readline()
                if not line or line.startswith("{"):   # skip anything that is not a result
                    result.append(line)
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not result or not result[0]:
            self.close()
            raise ParserError("the Rasa parse process stopped or timed out")
        return json.loads(result[0])

    def parse(self, texts: list[str]) -> list[dict]:
        proc = self._start()
        assert proc.stdin is not None
        results = []
        # One line in, one line out: never more than one line waits in either pipe.
        for text in texts:
            proc.stdin.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
            proc.stdin.flush()
            results.append(self._readline(120.0))
        return results

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.close()
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()


class HttpParser:
    """A running Rasa server's /model/parse."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(timeout=timeout)

    def parse(self, texts: list[str]) -> list[dict]:
        results = []
        for text in texts:
            try:
                response = self.client.post(f"{self.base_url}/model/parse",
                                            json={"text": text[:1000]})
                response.raise_for_status()
                raw = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise ParserError(f"Rasa server at {self.base_url} failed: {exc}") from exc
            category = raw.get("report_category") or {}
            results.append({
                "text": text, "intent": raw.get("intent") or {},
                "intent_ranking": (raw.get("intent_ranking") or [])[:5],
                "entities": raw.get("entities") or [],
                "report_ranking": [{"code": i.get("code"), "confidence": i.get("confidence", 0.0)}
                                   for i in (category.get("ranking") or [])[:5]],
                "report_level1": category.get("level1")})
        return results

    def close(self) -> None:
        self.client.close()

    @staticmethod
    def answers(base_url: str) -> bool:
        try:
            return httpx.get(f"{base_url.rstrip('/')}/status", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False


def make_parser(model: Path | None = None, rasa_url: str | None = None) -> Parser:
    """An explicit model loads in a subprocess; otherwise a live server is preferred."""
    if model is None and rasa_url and HttpParser.answers(rasa_url):
        return HttpParser(rasa_url)
    return SubprocessParser(model or DEFAULT_MODEL)


class RasaClassifier:
    """`Classifier` over a trained Rasa model (see bot.nlu.Classifier).

    `parser` is a Parser, or the path of a model file to load in a Rasa subprocess.
    The subprocess is started on first use and stays up until `close()`.
    """

    def __init__(self, catalog: Catalog, parser: Parser | Path | str) -> None:
        self.catalog = catalog
        self.parser = SubprocessParser(Path(parser)) if isinstance(parser, (str, Path)) else parser

    @classmethod
    def from_container(cls, container, model: Path | None = None) -> "RasaClassifier":
        """The shipped model (settings.rasa_model: RASA_MODEL, else models/current.tar.gz)."""
        return cls(container.catalog, SubprocessParser(Path(model or container.settings.rasa_model)))

    def classify(self, texts: list[str]) -> list[Classification]:
        return [self.from_parse(parsed) for parsed in self.parser.parse(list(texts))]

    def from_parse(self, parsed: dict) -> Classification:
        """The ranking as the model gave it; when the model named the first level (its
        first-level head, trained on 一级-only history), that level's categories come first."""
        ranked = [(item["code"], float(item["confidence"]))
                  for item in parsed.get("report_ranking") or []
                  if item.get("code") in self.catalog.categories]
        level1 = parsed.get("report_level1")
        if level1:
            ranked.sort(key=lambda pair: self.catalog.categories[pair[0]].level1 != level1)
        return make_classification(self.catalog, ranked or [(FALLBACK_CODE, 0.0)])

    def close(self) -> None:
        self.parser.close()


def batched(items: Iterable[str], size: int = 256) -> Iterable[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
