"""The dialogue files agree with each other, with the taxonomy and with the action code."""
from __future__ import annotations

import subprocess
import sys

import yaml

from bot.settings import ROOT


def load(path):
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def test_every_category_is_acknowledged_in_words():
    from actions import texts
    from bot.catalog import Catalog
    from bot.errands import ServiceCatalog

    catalog, services = Catalog.load(ROOT / "data"), ServiceCatalog.load(ROOT / "data")
    said = {code: texts.understood(c, services.for_category(code))
            for code, c in catalog.categories.items()}
    assert len(said) == 87
    assert all(c.level2 in said[code] for code, c in catalog.categories.items())
    permit = services.for_category("security.residence_permit")
    assert permit.materials[0] in said["security.residence_permit"]
    assert "信访" in said["gov.petition"] and "依法" in said["gov.petition"]
    assert "咨询" in said["education.enrollment"]


def report_categories(directory, pattern: str = "*.yml") -> dict[str, list[str]]:
    """Category code → example texts of the `report` blocks (metadata: {category: code})."""
    from bot.nlu.heldout import read_examples

    found: dict[str, list[str]] = {}
    for example in read_examples(sorted(directory.glob(pattern))):
        if example.intent == "report":
            found.setdefault(example.category, []).append(example.text)
    return found


def test_every_category_has_thirty_training_examples():
    codes = {c["code"] for c in load("data/taxonomy.yml")["categories"]}
    trained = report_categories(ROOT / "data" / "nlu", "report_*.yml")
    assert None not in trained, "a report block without metadata: {category: ...}"
    assert set(trained) == codes
    assert min(len(texts) for texts in trained.values()) >= 30
    # reports without a category are only the openers ("我要投诉"), which say nothing yet
    from actions.conversation import informative

    openers = report_categories(ROOT / "data" / "nlu", "dialogue*.yml")
    assert set(openers) == {None} and not any(informative(t) for t in openers[None])


def test_heldout_split_is_never_trained_on():
    from bot.nlu.heldout import heldout_files, read_examples

    def norm(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    trained = {norm(e.text) for e in read_examples(sorted((ROOT / "data" / "nlu").glob("*.yml")))}
    heldout = read_examples(heldout_files(ROOT))
    assert len(heldout) >= 900
    assert [e.text for e in heldout if norm(e.text) in trained] == []


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
        "report_form", "action_listen", "action_deactivate_loop"}
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
