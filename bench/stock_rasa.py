"""A stock Rasa 3.6 project for the load bench's comparison, generated in a temporary folder.

Like `rasa init`: the default pipeline and policies (config.yml names none, so Rasa's defaults
apply), the in-memory tracker store, one form (place, time and phone, filled from text) and one
custom action (`action_open_case`, served by rasa_sdk from .venv/rasa). Its conversation has the
product's shape: report → place → time → phone → yes, ending in a case number.

The trained model is kept under var/bench/stock-rasa/<hash of the project>/ (ignored by git)
so a second run does not train again; nothing of it is ever committed.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

from bench.procwatch import ProcessWatch
from bot.settings import ROOT

RASA_ENV = ROOT / ".venv" / "rasa" / "bin"
CACHE = ROOT / "var" / "bench" / "stock-rasa"

FILES = {
    "config.yml": """recipe: default.v1
language: en
pipeline:
# no configuration for the NLU pipeline was provided: Rasa's default is used
policies:
# no configuration for policies was provided: Rasa's default is used
assistant_id: stock-bench
""",
    "domain.yml": """version: "3.1"
intents: [greet, goodbye, affirm, deny, report, bot_challenge]
slots:
  place:
    type: text
    mappings:
    - type: from_text
      conditions:
      - active_loop: report_form
        requested_slot: place
  event_time:
    type: text
    mappings:
    - type: from_text
      conditions:
      - active_loop: report_form
        requested_slot: event_time
  phone:
    type: text
    mappings:
    - type: from_text
      conditions:
      - active_loop: report_form
        requested_slot: phone
forms:
  report_form:
    required_slots: [place, event_time, phone]
responses:
  utter_greet: [{text: "Hello! What problem would you like to report?"}]
  utter_goodbye: [{text: "Bye"}]
  utter_iamabot: [{text: "I am a bot, powered by Rasa."}]
  utter_ask_place: [{text: "Where is it?"}]
  utter_ask_event_time: [{text: "Since when?"}]
  utter_ask_phone: [{text: "Your phone number, please?"}]
  utter_confirm: [{text: "At {place}, since {event_time}, phone {phone}. Shall I file it?"}]
actions: [action_open_case]
session_config:
  session_expiration_time: 60
  carry_over_slots_to_new_session: true
""",
    "data/nlu.yml": """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hey
    - hello
    - hi
    - good morning
    - good evening
    - hey there
- intent: goodbye
  examples: |
    - bye
    - goodbye
    - see you around
    - see you later
- intent: affirm
  examples: |
    - yes
    - y
    - indeed
    - of course
    - that sounds good
    - correct
    - yes please
- intent: deny
  examples: |
    - no
    - n
    - never
    - I don't think so
    - not really
- intent: bot_challenge
  examples: |
    - are you a bot?
    - are you a human?
    - am I talking to a bot?
- intent: report
  examples: |
    - the street light outside my building is broken
    - my neighbours are too loud every night
    - the water has been cut off for three days
    - my boss has not paid my wages
    - there is rubbish piling up in the street
    - a pipe burst near the school
    - the road has a big hole in it
    - I want to report a problem
    - I have a complaint
    - the bus stop sign fell down
""",
    "data/rules.yml": """version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: goodbye
  steps:
  - intent: goodbye
  - action: utter_goodbye
- rule: bot challenge
  steps:
  - intent: bot_challenge
  - action: utter_iamabot
- rule: start the report form
  steps:
  - intent: report
  - action: report_form
  - active_loop: report_form
- rule: read back when the form is done
  condition:
  - active_loop: report_form
  steps:
  - action: report_form
  - active_loop: null
  - slot_was_set:
    - requested_slot: null
  - action: utter_confirm
- rule: open the case on yes
  steps:
  - action: utter_confirm
  - intent: affirm
  - action: action_open_case
""",
    "data/stories.yml": """version: "3.1"
stories:
- story: report a problem
  steps:
  - intent: greet
  - action: utter_greet
  - intent: report
  - action: report_form
  - active_loop: report_form
  - active_loop: null
  - slot_was_set:
    - requested_slot: null
  - action: utter_confirm
  - intent: affirm
  - action: action_open_case
""",
    "actions/__init__.py": "",
    "actions/actions.py": '''from itertools import count

from rasa_sdk import Action
from rasa_sdk.events import SlotSet

NUMBERS = count(1)


class ActionOpenCase(Action):
    def name(self):
        return "action_open_case"

    def run(self, dispatcher, tracker, domain):
        number = next(NUMBERS)
        dispatcher.utter_message(text=f"Filed: case number {number}.",
                                 json_message={"case": {"number": str(number)}})
        return [SlotSet("place", None), SlotSet("event_time", None), SlotSet("phone", None)]
''',
    "credentials.yml": "rest:\n",
}
REPORTS = ["the street light outside my building is broken", "my neighbours are too loud every night",
           "the water has been cut off for three days"]
PLACES = ["28 Culture Road", "Building 3, Happy Estate", "the corner of People Road"]
TIMES = ["about a month", "since last night", "three days"]


def stock_script(rng: random.Random) -> list[str]:
    number = "139" + "".join(rng.choice("0123456789") for _ in range(8))
    return [rng.choice(REPORTS), rng.choice(PLACES), rng.choice(TIMES), number, "yes"]


def stock_case(messages: list[dict]) -> bool:
    return any("case number" in (m.get("text") or "") for m in messages)


def write_project(folder: Path, action_port: int) -> str:
    """The project files; returns a hash of what training depends on."""
    digest = hashlib.sha256()
    for name, text in sorted(FILES.items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if name.endswith(".yml") and name != "credentials.yml":
            digest.update(name.encode() + text.encode())
    (folder / "endpoints.yml").write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n', encoding="utf-8")
    return digest.hexdigest()[:16]


def trained_model(folder: Path, key: str) -> Path:
    cached = CACHE / key / "stock.tar.gz"
    if cached.is_file():
        return cached
    print("training the stock Rasa project (once; kept in var/bench/stock-rasa/) …", flush=True)
    started = time.monotonic()
    subprocess.run([str(RASA_ENV / "rasa"), "train", "--fixed-model-name", "stock", "--out",
                    str(folder / "models")], cwd=folder, env=_env(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    cached.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(folder / "models" / "stock.tar.gz", cached)
    print(f"  trained in {time.monotonic() - started:.0f} s", flush=True)
    return cached


def _env() -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONUNBUFFERED": "1"}


def wait_ready(url: str, processes: list[subprocess.Popen], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError(f"a stock Rasa process exited before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready in {timeout:g} s")


def stock_runs(args, folder: Path, closed_loop, rest_door, run_levels) -> list:
    from tests.web_support import free_port

    folder.mkdir(parents=True, exist_ok=True)
    rasa_port, action_port = free_port(), free_port()
    model = trained_model(folder, write_project(folder, action_port))
    CACHE.mkdir(parents=True, exist_ok=True)
    log = open(CACHE / "stock.log", "wb")         # kept after the run: why a conversation failed
    actions = subprocess.Popen([str(RASA_ENV / "python"), "-m", "rasa_sdk", "--actions", "actions",
                                "--port", str(action_port)], cwd=folder, env=_env(),
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    rasa = subprocess.Popen([str(RASA_ENV / "rasa"), "run", "--enable-api", "-m", str(model),
                             "--port", str(rasa_port), "-i", "127.0.0.1",
                             "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"],
                            cwd=folder, env=_env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{rasa_port}"
        wait_ready(f"{url}/status", [rasa, actions])
        wait_ready(f"http://127.0.0.1:{action_port}/health", [rasa, actions])
        door = rest_door(url, "stock-", name="stock")
        watch = ProcessWatch([("stock-", rasa.pid), ("stock-", actions.pid)], own=True)
        print(f"stock Rasa up: {url}", flush=True)
        asyncio.run(closed_loop(door, 1, 0.01, stock_script, stock_case))      # warm-up
        return run_levels(door, args.levels, args.duration, stock_script, stock_case, watch)
    finally:
        for process in (rasa, actions):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in (rasa, actions):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()
