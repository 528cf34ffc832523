"""The dialogue files agree with each other, with the taxonomy and with the action code."""
from __future__ import annotations

import subprocess
import sys

import yaml

from bot.settings import ROOT


def load(path):
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def test_domain_report_responses_are_generated_from_the_taxonomy():
    proc = subprocess.run([sys.executable, "scripts/gen_domain.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    domain, taxonomy = load("domain.yml"), load("data/taxonomy.yml")
    codes = {c["code"] for c in taxonomy["categories"]}
    responses = {k.split("/", 1)[1] for k in domain["responses"] if k.startswith("utter_report/")}
    assert responses == codes and len(codes) == 69


def test_every_category_has_training_examples():
    taxonomy = load("data/taxonomy.yml")
    trained = set()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if str(block.get("intent", "")).startswith("report/"):
                trained.add(block["intent"].split("/", 1)[1])
    assert {c["code"] for c in taxonomy["categories"]} <= trained


def test_domain_actions_are_exactly_the_registered_actions():
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    domain = load("domain.yml")
    assert set(domain["actions"]) == set(executor.actions)


def test_rules_and_stories_only_use_known_names():
    domain = load("domain.yml")
    intents = set(domain["intents"]) | {"nlu_fallback"}
    actions = set(domain["actions"]) | set(domain["responses"]) | {
        "utter_report", "report_form", "action_listen", "action_deactivate_loop"}
    slots = set(domain["slots"]) | {"requested_slot"}
    files = ["data/rules.yml", "data/stories.yml", *[
        str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "conversations").glob("*.yml")]]
    for path in files:
        doc = load(path)
        for item in doc.get("rules", []) + doc.get("stories", []):
            for step in item.get("condition", []) + item["steps"]:
                if "intent" in step:
                    assert step["intent"] in intents, (path, step)
                if "action" in step:
                    assert step["action"] in actions, (path, step)
                for slot in step.get("slot_was_set", []):
                    assert set(slot) <= slots, (path, step)


def test_at_least_forty_conversation_tests():
    stories = [s for p in (ROOT / "tests" / "conversations").glob("*.yml")
               for s in yaml.safe_load(p.read_text(encoding="utf-8"))["stories"]]
    assert len(stories) >= 40


def test_nothing_heavy_happens_at_import():
    code = ("import sys, actions.report, actions.status, actions.followup, actions.errand, "
            "actions.emergency, actions.support, bot.nlu.rasa, bot.nlu.urgency; "
            "from actions import runtime; assert runtime._container is None; "
            "assert 'rasa' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
