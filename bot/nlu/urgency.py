"""Safety of what a resident says: an emergency, a person in crisis, a threat of violence?

Shared by the chat assistant (actions/) and hotline transcripts (bot/intake). Pure and fast;
nothing is read at import: the words and the numbers come from data/safety.yml (a county may
override the numbers in data/county/safety.yml), read on first use. Traditional characters are
read as simplified ones (zhconv), so "著火了" is the fire it says.

    >>> assess("楼道里着火了，烟很大").level, assess("楼道里着火了，烟很大").hotline
    ('emergency', '119')
    >>> assess("我不想活了，欠薪三个月").hotlines
    ('12356',)

Levels of `assess` (most urgent first):
  * ``emergency`` — danger to life or property right now: call ``hotline`` at once (110
    police, 119 fire/gas/rescue, 120 ambulance, 122 traffic accident); ``hotlines`` lists
    every number that applies, most important first. Also self-harm under way (standing on
    a roof, pills taken).
  * ``threat`` — the resident threatens violence against people or an office: the police
    number is given and supervisors are to be told (``notify_supervisors``).
  * ``crisis`` — thoughts of suicide or self-harm: the psychological-assistance hotline
    (12356), a person to talk to (``needs_person``) and an urgent case.
  * ``urgent`` — a hazard (隐患, 漏电 …), an emergency word that clearly refers to the past
    (in its clause, earlier in its sentence, in a dated report or a letter that tells of it),
    one named as a kind of event ("车祸也很多", "着火事件"), or one that is only feared
    ("万一着火了怎么跑"); no number to call.
  * ``normal`` — everything else, including negated emergency words ("没着火", "预防火灾") and
    manners of speaking ("气得我要爆炸了", "累死了").

`concerns` keeps "self_harm" and "threat" even when an emergency outranks them, so a reply can
give 12356 beside 120 ("我割腕了，血流了好多").

`detect_urgency` is the older three-level view (emergency | urgent | normal) used by callers
that only refer emergencies; crisis and threat are "urgent" there unless a number must be
called now.
"""
from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import yaml
import zhconv

from bot.nlu.safety_model import crisis_model, emergency_model

_ROOT = Path(__file__).resolve().parent.parent.parent
LEVELS = ("emergency", "threat", "crisis", "urgent", "normal")
MAX_CHARS = 5000
LETTER_CHARS = 120
_PAST_REACH = 40      # how far back in its sentence a time of the past holds for a clause
# Dangers whatever their subject: a fire, gas or an explosion threatens everyone around.
_ANY_SUBJECT = ("火情", "燃气泄漏", "爆炸")
_SENTENCE_END = re.compile(r"[。！？!?\n]")
MODEL_REASON = "描述像是正在发生的紧急情况"
_HANZI = re.compile(r"[\u4e00-\u9fff]")
_CLAUSE_END = re.compile(r"[，。！？；,.!?;\s—…~～]")
# A line of ASR output with its words spaced out: most pieces this short (see `despace`)
_SPACED_PIECE, _SPACED_SHARE = 2, 0.6
_BLANK = re.compile(r"[ \t\u3000]")
_INNER_BLANK = re.compile(r"(?<=[^\sa-zA-Zａ-ｚＡ-Ｚ])[ \t\u3000]+(?=[^\sa-zA-Zａ-ｚＡ-Ｚ])")


@dataclass(frozen=True)
class Urgency:
    level: str                       # 'emergency' | 'urgent' | 'normal'
    hotline: str | None              # the number to call first, only for emergencies
    reason: str                      # short Chinese reason, e.g. '火情', '有人受伤'
    hotlines: tuple[str, ...] = ()   # every number that applies, most important first

    @property
    def is_emergency(self) -> bool:
        return self.level == "emergency"


@dataclass(frozen=True)
class Safety:
    level: str                         # one of LEVELS
    hotline: str | None                # the number to give first
    reason: str                        # short Chinese reason: '火情', '有轻生或自伤的念头'
    hotlines: tuple[str, ...] = ()     # every number that applies, most important first
    concerns: tuple[str, ...] = ()     # 'self_harm', 'threat' (kept beside an emergency)

    @property
    def kind(self) -> str:
        return self.level

    @property
    def is_emergency(self) -> bool:
        return self.level == "emergency"

    @property
    def is_crisis(self) -> bool:
        return "self_harm" in self.concerns

    @property
    def is_threat(self) -> bool:
        return "threat" in self.concerns

    @property
    def needs_person(self) -> bool:
        """Someone in crisis is handed to a person, never left with the bot."""
        return self.is_crisis

    @property
    def notify_supervisors(self) -> bool:
        return self.is_threat

    @property
    def urgent_case(self) -> bool:
        """A case is opened and handled first (crisis, threat, hazard)."""
        return self.level in ("threat", "crisis", "urgent") or bool(self.concerns)

    def to_dict(self) -> dict:
        return {"level": self.level, "hotline": self.hotline, "hotlines": list(self.hotlines),
                "reason": self.reason, "concerns": list(self.concerns)}


NORMAL = Safety("normal", None, "")


# ====================================================================== rules from data
@dataclass(frozen=True)
class _Rule:
    reason: str
    hotline: str
    pattern: re.Pattern
    fear: bool = False
    habitual: bool = False
    benign: re.Pattern | None = None


@dataclass
class Rules:
    hotlines: dict[str, str]
    crisis_hotline: str
    threat_hotline: str
    priority: tuple[str, ...]
    emergency: list[_Rule]
    weak: list[tuple[_Rule, int]]      # (rule, the most characters a message may have)
    self_harm: re.Pattern
    self_harm_reason: str
    imminent: list[tuple[str, re.Pattern]]
    threat: re.Pattern
    threat_reason: str
    hazard: re.Pattern
    negation: re.Pattern
    feared: re.Pattern
    hypothetical_after: re.Pattern
    past: re.Pattern
    now: re.Pattern
    habitual: re.Pattern
    cancel: re.Pattern
    over: re.Pattern
    figurative: re.Pattern
    third_party: re.Pattern
    intent: re.Pattern
    handled: re.Pattern
    animal: re.Pattern
    person: re.Pattern
    letter_now: re.Pattern
    letter: re.Pattern
    call: re.Pattern
    kind_before: re.Pattern
    new_time: re.Pattern
    told: re.Pattern                   # past, and an emergency's own signs of a report (reported)
    kind_after: re.Pattern
    threat_with_intent: re.Pattern
    model_dir: Path | None = None      # where data/safety_examples/ is (bot.nlu.safety_model)
    crisis_cues: re.Pattern | None = None   # a sentence the crisis classifier may read holds one
    crisis_threshold: float = 0.0

    def label(self, number: str) -> str:
        return self.hotlines.get(number, "紧急求助电话")

    @property
    def emergency_numbers(self) -> set[str]:
        """The numbers to call at once (110, 119, 120, 122 in the shipped data)."""
        numbers = {rule.hotline for rule in self.emergency} | {number for number, _ in self.imminent}
        return numbers | {rule.hotline for rule, _ in self.weak}


_WORD_LIST = re.compile(r"\{([a-z_]+)\}")


def _expand(pattern: str, words: dict[str, str], where: str) -> str:
    """Replace `{person}`, `{body}` … by the word lists of the data's `words:` section, so
    that one rule covers every way of naming who or what ("老人|奶奶|俺爹 …")."""
    def one(m: re.Match) -> str:
        if m.group(1) not in words:
            raise ValueError(f"safety rules: unknown word list {{{m.group(1)}}} in {where}")
        return f"(?:{words[m.group(1)]})"
    return _WORD_LIST.sub(one, pattern)


def _compile(patterns, where: str, words: dict[str, str] | None = None) -> re.Pattern:
    if isinstance(patterns, str):
        patterns = [patterns]
    joined = "|".join(f"(?:{_expand(p, words or {}, where)})" for p in patterns if p)
    try:
        pattern = re.compile(joined)
    except re.error as exc:
        raise ValueError(f"safety rules: bad pattern in {where}: {exc}") from None
    if pattern.search(""):
        raise ValueError(f"safety rules: a pattern in {where} matches the empty string")
    return pattern


def data_dir() -> Path:
    return Path(os.environ.get("BOT_DATA_DIR") or _ROOT / "data")


def load_rules(directory: Path | str | None = None) -> Rules:
    """The rules of `directory`/safety.yml, with the county's numbers from
    `directory`/county/safety.yml when that file exists."""
    directory = Path(directory) if directory else data_dir()
    return _load(str(directory), *_mtimes(directory))


def _mtimes(directory: Path) -> tuple[float, float]:
    def mtime(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0
    return mtime(directory / "safety.yml"), mtime(directory / "county" / "safety.yml")


@lru_cache(maxsize=8)
def _load(directory: str, _m1: float, _m2: float) -> Rules:
    base = Path(directory)
    doc = yaml.safe_load((base / "safety.yml").read_text(encoding="utf-8")) or {}
    county_file = base / "county" / "safety.yml"
    if county_file.exists():
        county = yaml.safe_load(county_file.read_text(encoding="utf-8")) or {}
        doc["hotlines"] = {**doc.get("hotlines", {}), **{str(k): v for k, v in (county.get("hotlines") or {}).items()}}
        for key in ("crisis_hotline", "threat_hotline"):
            if county.get(key):
                doc[key] = str(county[key])
    mods = doc["modifiers"]
    words = _word_lists(doc.get("words") or {})

    def compiled(patterns, where: str) -> re.Pattern:
        return _compile(patterns, where, words)
    emergency = [_Rule(r["reason"], str(r["hotline"]), compiled(r["patterns"], r["reason"]),
                       bool(r.get("fear")), bool(r.get("habitual")),
                       compiled(r["benign"], r["reason"]) if r.get("benign") else None)
                 for r in doc["emergency"]]
    weak = doc.get("weak") or []
    weak = [weak] if isinstance(weak, dict) else weak
    sh, th = doc["self_harm"], doc["threat"]
    crisis = doc.get("crisis_model") or {}
    return Rules(
        crisis_cues=compiled(crisis["cues"], "crisis_model.cues") if crisis.get("cues") else None,
        crisis_threshold=float(crisis.get("threshold", 0.0)),
        model_dir=base if (base / "safety_examples").is_dir() else None,
        hotlines={str(k): v for k, v in doc["hotlines"].items()},
        crisis_hotline=str(doc["crisis_hotline"]), threat_hotline=str(doc["threat_hotline"]),
        priority=tuple(str(p) for p in doc["priority"]), emergency=emergency,
        weak=[(_Rule(w["reason"], str(w["hotline"]), compiled(w["patterns"], "weak")),
               int(w.get("max_chars", 10))) for w in weak],
        self_harm=compiled(sh["patterns"], "self_harm"), self_harm_reason=sh["reason"],
        imminent=[(str(i["hotline"]), compiled(i["patterns"], "imminent")) for i in sh.get("imminent", [])],
        threat=compiled(th["patterns"], "threat"), threat_reason=th["reason"],
        threat_with_intent=compiled(th["with_intent"], "threat.with_intent"),
        hazard=compiled(doc["hazard"], "hazard"),
        told=compiled([mods["past"], mods["reported"]], "past, reported"),
        **{key: compiled(mods[key], key) for key in ("negation", "feared", "hypothetical_after", "past",
                                                      "now", "habitual", "cancel", "over", "figurative", "third_party",
                                                      "intent", "handled", "animal", "person", "letter_now", "letter", "call",
                                                      "kind_before", "kind_after", "new_time")})


def _word_lists(raw: dict) -> dict[str, str]:
    """The `words:` section: name -> alternatives (a list or one pattern); a list may use an
    earlier one ("{person}" inside "{someone}")."""
    words: dict[str, str] = {}
    for name, value in raw.items():
        joined = "|".join(str(v) for v in value) if isinstance(value, list) else str(value)
        words[str(name)] = _expand(joined, words, f"words.{name}")
    return words


# ====================================================================== assessment
def normalize(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), simplified characters (著火 → 着火, so
    the rules read traditional and Cantonese writing too), lower case, no zero-width characters."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    if _HANZI.search(text):
        text = zhconv.convert(text, "zh-cn")
    return re.sub(r"[\u200b-\u200f\ufeff]", "", text).lower()


def despace(text: str) -> str:
    """Speech recognition that spaces out every word or character ("着 火 了 ！ ！ 救 命",
    "我 老公 拿 刀 要 砍 我") read as it was said: on a line whose blank-separated pieces are
    mostly one or two characters long, the blanks between characters that are not Latin letters
    are taken out. Segments of ordinary length ("有个老头倒在地上了 叫他也不应") keep their
    blanks, which end a clause; so does pinyin ("wo xiang si")."""
    if not _BLANK.search(text) or not _HANZI.search(text):
        return text
    return "\n".join(_despace_line(line) for line in text.split("\n"))


def _despace_line(line: str) -> str:
    pieces = line.split()
    if len(pieces) < 2 or not _HANZI.search(line):
        return line
    short = sum(len(piece) <= _SPACED_PIECE for piece in pieces)
    if short < _SPACED_SHARE * len(pieces) or (len(pieces) == 2 and short < 2):
        return line
    return _INNER_BLANK.sub("", line)


def prepare(text: str, rules: Rules) -> str:
    """What the rules and the crisis classifier read: normalised, figures of speech blanked."""
    return _mask(normalize(text), rules.figurative)


def _mask(text: str, pattern: re.Pattern) -> str:
    """Blank out the spans of `pattern`, keeping every other position where it was."""
    return pattern.sub(lambda m: "＿" * len(m.group(0)), text)


def _clause(text: str, start: int, end: int) -> tuple[str, str]:
    """(the clause up to `start`, at most 10 characters; the whole clause around the match)."""
    before = _CLAUSE_END.split(text[max(0, start - 10):start])[-1]
    left = max((text.rfind(c, 0, start) for c in "，。！？；,.!?; \n\t—…"), default=-1) + 1
    right = min([i for i in (text.find(c, end) for c in "，。！？；,.!?; \n\t—…") if i >= 0] or [len(text)])
    return before, text[left:right]


def _tail(text: str, end: int) -> str:
    """The rest of the clause after `end`."""
    right = min([i for i in (text.find(c, end) for c in "，。！？；,.!?; \n\t—…") if i >= 0] or [len(text)])
    return text[end:right]


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """Where the sentence around text[start:end] begins and ends (its closing mark included)."""
    ends = list(_SENTENCE_END.finditer(text, 0, start))
    after = _SENTENCE_END.search(text, end)
    return (ends[-1].end() if ends else 0), (after.end() if after else len(text))


@dataclass
class _Found:
    now: list[tuple[str, str]] = field(default_factory=list)      # (hotline, reason)
    past: list[str] = field(default_factory=list)
    feared: list[str] = field(default_factory=list)
    threat_violence: bool = False
    told_past: bool = False       # the whole text tells of the past (or of what is handled)


def _emergencies(text: str, rules: Rules, threats: list[tuple[int, int]] = ()) -> _Found:
    """Emergency words said of now; `threats` are spans of threats, whose words of injury
    ("把他脑袋开了") are what the writer will do, not what is happening."""
    found = _Found()
    # a word of now beside what is handled ("现在还在住院") is of the handling, not of an emergency
    text_past = bool(rules.told.search(text) or rules.handled.search(text)) and not any(
        not rules.handled.search(_clause(text, m.start(), m.end())[1]) for m in rules.now.finditer(text))
    found.told_past = text_past
    # A long letter tells of problems; an emergency in it is said with a word of now nearby.
    # A long text is a letter when it reads like one or runs on in one block; a call's
    # account comes sentence by sentence (one a line) and is not; nor is a call written down
    # as one run of ASR text (the operator's words tell it).
    call = bool(rules.call.search(text))
    letter = (len(text) > LETTER_CHARS and not call
              and (bool(rules.letter.search(text)) or "\n" not in text.strip()))
    # one in a letter's own words (领导, 建议, 有关部门 …) reads sentence by sentence
    register = letter and bool(rules.letter.search(text))
    for rule in rules.emergency:
        for m in rule.pattern.finditer(text):
            if rules.negation.search(text[max(0, m.start() - 12):m.start()]):
                continue
            if any(start <= m.start() < end or m.start() <= start < m.end() for start, end in threats) \
                    and rules.intent.search(_SENTENCE_END.split(text[:m.start()])[-1]):
                found.threat_violence = True   # the writer's own threat; someone else's is under way
                continue
            before, clause = _clause(text, m.start(), m.end())
            after = text[m.end():m.end() + 6]
            if rule.fear and (rules.feared.search(before) or rules.hypothetical_after.search(after)):
                found.feared.append(rule.reason)
                continue
            if rule.benign and rule.benign.search(text[max(0, m.start() - 15):m.end() + 15]):
                continue
            # a kind of event named ("车祸也很多", "着火事件", "很多溺水的安全事故"), not one under way
            if (rules.kind_before.search(before) or rules.kind_after.search(_tail(text, m.end()))) \
                    and not rules.now.search(clause):
                found.past.append(rule.reason)
                continue
            # a habit is said in the clause or the one before ("老是这样，冒火花"), not three back
            sentence = "".join(_CLAUSE_END.split(
                _SENTENCE_END.split(text[max(0, m.start() - 15):m.start()])[-1])[-2:]) + clause
            if rule.habitual and rules.habitual.search(sentence):
                found.past.append(rule.reason)
                continue
            # past: the whole text, the clause, a time of the past earlier in the sentence; in a
            # letter, no word of now nearby, and in a letter's own words a sentence that tells of
            # the past anywhere ("去年…，孩子被电动车撞飞…") tells it of each clause without one
            first, last = _sentence(text, m.start(), m.end())
            if text_past or (rules.told.search(clause) and not rules.now.search(clause)) or (
                    not call and _past_in_scope(text, m, first, last, rules)) or (letter and (
                    not _now_near(text, m, first, last, register, rules)
                    or (register and rules.told.search(text[first:last]) and not rules.now.search(clause)))):
                found.past.append(rule.reason)
                continue
            if rule.reason not in _ANY_SUBJECT and rules.animal.search(before) and not rules.person.search(clause):
                continue                       # "我家猫从阳台掉下去了": not a person
            if rule.hotline == rules.threat_hotline and rules.intent.search(text[max(0, m.start() - 16):m.start()]) \
                    and not rules.now.search(clause):
                found.threat_violence = True     # "我要去砍人": said intent, not an attack under way
                continue
            found.now.append((rule.hotline, rule.reason))
            break
    return found


def _past_in_scope(text: str, m: re.Match, first: int, last: int, rules: Rules) -> bool:
    """Whether a time of the past said shortly before, in the same sentence, holds for the clause
    of `m` ("去年我在这个路口被车撞了，腿断了"): it holds until a word of now or of a new time resets
    it ("上周就跟物业说过，今天电梯困人了"), unless a call for help later in the sentence says the
    emergency is under way ("之前就说过，孩子掉河里了！")."""
    told = None
    for told in rules.told.finditer(text, max(first, m.start() - _PAST_REACH), m.start()):
        pass
    if told is None:
        return False
    end = min(last, m.end() + len(_tail(text, m.end())) + 1)      # the clause with its closing mark
    return not (rules.now.search(text, told.end(), end) or rules.new_time.search(text, told.end(), end)
                or rules.letter_now.search(text, end, last))


def _now_near(text: str, m: re.Match, first: int, last: int, register: bool, rules: Rules) -> bool:
    """Whether a letter says a word of now near the emergency words of `m`: within 25 characters,
    and in their own sentence (text[first:last]) when the letter is in a letter's own words (领导,
    建议, 有关部门 …); an exclamation mark counts only in its own sentence, for it marks that one."""
    low, high = max(0, m.start() - 25), min(len(text), m.end() + 25)
    if register:
        low, high = max(low, first), min(high, last)
    return any(word.group(0) not in "!！" or first <= word.start() < last
               for word in rules.letter_now.finditer(text, low, high))


def _said(pattern: re.Pattern, text: str, rules: Rules, *, others: bool = False,
          intent: bool = False) -> bool:
    """Whether `pattern` is said of now: not negated, not in the past; with `others`, not
    about someone else ("有人跳楼"); with `intent`, after a word of the writer's intent
    ("我就去…", anywhere earlier in the sentence)."""
    for m in pattern.finditer(text):
        if rules.negation.search(text[max(0, m.start() - 5):m.start()]):
            continue
        before, clause = _clause(text, m.start(), m.end())
        if intent and not rules.intent.search(text[max(0, m.start() - 16):m.start()]):
            continue
        if rules.past.search(clause) and not rules.now.search(clause):
            continue
        if others and rules.third_party.search(before) and not re.search(r"[我俺](?!们)", before):
            continue
        return True
    return False


def _threat_spans(text: str, rules: Rules) -> list[tuple[int, int]]:
    """Where the writer threatens violence: threat words, or violent words after a word of
    intent, said of now (not negated, not in the past)."""
    spans = []
    for pattern, intent in ((rules.threat, False), (rules.threat_with_intent, True)):
        for m in pattern.finditer(text):
            if _said_at(m, text, rules, intent=intent):
                spans.append((m.start(), m.end()))
    return spans


def _said_at(m: re.Match, text: str, rules: Rules, *, intent: bool = False) -> bool:
    if rules.negation.search(text[max(0, m.start() - 5):m.start()]):
        return False
    _, clause = _clause(text, m.start(), m.end())
    if intent and not rules.intent.search(text[max(0, m.start() - 16):m.start()]):
        return False
    return not (rules.past.search(clause) and not rules.now.search(clause))


def assess(text: str | None, rules: Rules | None = None) -> Safety:
    """Classify the safety of one message or transcript. Never raises on any text.

    Speech recognition's spaced-out words ("着 火 了 ！ ！ 救 命") are read joined as well
    (`despace`): the joined reading counts unless the one as written is more urgent, for a
    blank may also be a real pause ("我 我想 想死 你们 帮不了我的" is not "想死你们")."""
    if not text or not isinstance(text, str) or not text.strip():
        return NORMAL
    rules = rules or load_rules()
    as_written = _assess(text, rules)
    joined = despace(text)
    if joined == text:
        return as_written
    spoken = _assess(joined, rules)
    if LEVELS.index(as_written.level) < LEVELS.index(spoken.level):
        return as_written
    if as_written.level != spoken.level:
        return spoken
    return replace(spoken, hotlines=tuple(dict.fromkeys(spoken.hotlines + as_written.hotlines)),
                   concerns=tuple(dict.fromkeys(spoken.concerns + as_written.concerns)))


def _assess(text: str, rules: Rules) -> Safety:
    raw = normalize(text)
    if rules.cancel.search(raw):
        hazard = rules.hazard.search(raw)
        return Safety("urgent", None, f"安全隐患（{hazard.group(0)}）") if hazard else NORMAL
    said = _mask(raw, rules.figurative)
    threats = _threat_spans(said, rules)
    # an emergency that is over is not one; a crisis or a threat beside it still is
    found = _Found() if rules.over.search(raw) else _emergencies(said, rules, threats)
    concerns: list[str] = []
    imminent: list[str] = []
    if _said(rules.self_harm, said, rules, others=True):
        concerns.append("self_harm")
        imminent = [number for number, pattern in rules.imminent if pattern.search(said)]
    if found.threat_violence or threats:
        concerns.append("threat")
    if not found.now and said == raw:     # a figure of speech beside it ("笑死救命") is no cry
        length = len(re.sub(r"\W", "", said))
        weak = next((rule for rule, most in rules.weak if length <= most and rule.pattern.search(said)),
                    None)
        if weak:
            found.now.append((weak.hotline, weak.reason))
    if found.now or imminent:
        numbers = _ranked({h for h, _ in found.now} | set(imminent), rules)
        reason = next((r for h, r in found.now if h == numbers[0]), rules.self_harm_reason)
        extra = [rules.crisis_hotline] if "self_harm" in concerns else []
        if "threat" in concerns and rules.threat_hotline not in numbers:
            extra.append(rules.threat_hotline)
        return Safety("emergency", numbers[0], reason, tuple(numbers + extra), tuple(concerns))
    if concerns:
        return _concerned(tuple(concerns), rules)
    if found.past:
        return Safety("urgent", None, f"{found.past[0]}（已发生过）")
    hazard = rules.hazard.search(said)
    if hazard:
        return Safety("urgent", None, f"安全隐患（{hazard.group(0)}）")
    # the classifiers speak only where the rules found nothing, or only a feared emergency; the
    # crisis classifier never over words the rules read as negated, past or someone else's
    model = crisis_model(rules.model_dir) if rules.model_dir is not None else None
    concerns = tuple(c for c in model.concerns(said) if not _mentioned(c, said, rules)) if model else ()
    # nor the emergency classifier over a text that tells of the past or of what is handled
    if not found.feared and not found.told_past and rules.model_dir is not None:
        emergency = emergency_model(rules.model_dir)
        number = emergency.hotline(raw) if emergency else None
        if number:
            extra = [n for n in _concerned(concerns, rules).hotlines if n != number] if concerns else []
            return Safety("emergency", number, MODEL_REASON, (number, *extra), concerns)
    if concerns:
        return _concerned(concerns, rules)
    if found.feared:
        return Safety("urgent", None, f"安全隐患（担心{found.feared[0]}）")
    return NORMAL


def _mentioned(concern: str, text: str, rules: Rules) -> bool:
    """Whether the rules read words of `concern` and set them aside on purpose (negated, past,
    someone else's). Violent words without a word of intent were not set aside, only not enough."""
    if concern == "self_harm":
        return bool(rules.self_harm.search(text))
    return bool(rules.threat.search(text)) or any(
        not _said_at(m, text, rules) for m in rules.threat_with_intent.finditer(text))


def _concerned(concerns: tuple[str, ...], rules: Rules) -> Safety:
    """A threat (110, supervisors told; 12356 too beside self-harm) or a crisis (12356, a person)."""
    if "threat" in concerns:
        numbers = [rules.threat_hotline] + ([rules.crisis_hotline] if "self_harm" in concerns else [])
        return Safety("threat", numbers[0], rules.threat_reason, tuple(numbers), concerns)
    return Safety("crisis", rules.crisis_hotline, rules.self_harm_reason, (rules.crisis_hotline,), concerns)


def _ranked(numbers: set[str], rules: Rules) -> list[str]:
    order = {n: i for i, n in enumerate(rules.priority)}
    return sorted(numbers, key=lambda n: (order.get(n, len(order)), n))


# ====================================================================== older views
def detect_urgency(text: str | None) -> Urgency:
    """The three-level view: emergency (a number to call now) | urgent | normal. A crisis
    or a threat without danger this minute is "urgent" here; use `assess` to tell them."""
    safety = assess(text)
    if safety.level == "emergency":
        emergency_numbers = load_rules().emergency_numbers
        numbers = tuple(n for n in safety.hotlines if n in emergency_numbers)
        return Urgency("emergency", numbers[0], safety.reason, numbers)
    if safety.level == "normal":
        return Urgency("normal", None, "")
    return Urgency("urgent", None, safety.reason)


def mentions_emergency(text: str | None) -> bool:
    """Whether any emergency word occurs at all, even negated, feared or in the past: then a
    model's "emergency" guess must not overrule what detect_urgency decided."""
    if not text or not isinstance(text, str):
        return False
    said = normalize(despace(text))
    return any(rule.pattern.search(said) for rule in load_rules().emergency)


def mentions_danger(text: str | None) -> bool:
    """Whether any word of an emergency, of self-harm or of a threat occurs at all, even
    negated, feared, past or someone else's: rules only, no classifier (microseconds, for
    a public list of a thousand texts), so wider than `assess` on purpose."""
    if not text or not isinstance(text, str):
        return False
    rules = load_rules()
    said = normalize(despace(text))
    cues = (rules.self_harm, rules.threat, rules.threat_with_intent)
    return any(p.search(said) for p in cues) or any(
        rule.pattern.search(said) for rule in (*rules.emergency, *(r for r, _ in rules.weak)))


def hotline_label(number: str) -> str:
    return load_rules().label(number)


class _Labels(dict):
    """HOTLINE_LABELS for callers that import it: filled from the data on first use (nothing
    is read at import), a plain dict from then on."""

    def _fill(self) -> None:
        if not dict.__len__(self):
            dict.update(self, load_rules().hotlines)

    def __getitem__(self, key):
        self._fill()
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        self._fill()
        return dict.get(self, key, default)

    def __contains__(self, key) -> bool:
        self._fill()
        return dict.__contains__(self, key)

    def __iter__(self):
        self._fill()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._fill()
        return dict.__len__(self)

    def items(self):
        self._fill()
        return dict.items(self)

    def keys(self):
        self._fill()
        return dict.keys(self)

    def values(self):
        self._fill()
        return dict.values(self)


HOTLINE_LABELS: dict[str, str] = _Labels()
