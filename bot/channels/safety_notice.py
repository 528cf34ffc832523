"""The number to call, said by a door itself when the dialogue cannot answer at once.

An emergency or a crisis must never wait behind "系统正忙": while a person holds the
conversation (bot/channels/handoff.py), while Rasa is busy, starting or down (the web relay,
the Telegram adapter), the door reads the words with the same safety check the dialogue uses
and names the number to call before anything else.
"""
from __future__ import annotations

from dataclasses import replace

from bot.nlu.urgency import Safety, assess, hotline_label, load_rules

SAFETY_LEVELS = ("emergency", "crisis")
# The body function behind the psychological-assistance line: a crisis is its urgent case,
# whichever door it came through.
CRISIS_FUNCTION = "health"


def call_now(text: str, *, do_not_wait_for: str, rules_only: bool = False) -> tuple[list[str], Safety] | None:
    """(lines naming the numbers to call, the assessment) for an emergency or a crisis,
    else None. `do_not_wait_for`: whose answer not to wait for (代理员回复, 我们回复).
    `rules_only`: without the classifiers beside the rules (a fifth of a millisecond instead of
    one or two), for a door under a flood."""
    safety = assess(text, replace(load_rules(), model_dir=None) if rules_only else None)
    if safety.level not in SAFETY_LEVELS or not safety.hotlines:
        return None
    first, *others = safety.hotlines
    lines = [f"请马上拨打 {first}（{hotline_label(first)}）求助，不要等{do_not_wait_for}！"]
    lines += [f"需要的话，也请拨打 {n}（{hotline_label(n)}）。" for n in others]
    return lines, safety
