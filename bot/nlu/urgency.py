"""Urgency of what a resident says: is it an emergency, and which number should they call?

Shared by the chat assistant (actions/) and hotline transcripts (bot/intake). Pure, fast and
dependency-free: plain regular expressions over the text, no model.

    >>> detect_urgency("楼道里着火了，烟很大")
    Urgency(level='emergency', hotline='119', reason='火情', hotlines=('119',))

Levels:
  * ``emergency`` — danger to life or property right now: tell the resident to call
    ``hotline`` at once (110 police, 119 fire/gas/rescue, 120 ambulance, 122 traffic accident);
    ``hotlines`` lists every number that applies, most important first.
  * ``urgent`` — a hazard that should be handled first (隐患, 漏电, 井盖丢失 …), an
    emergency word that clearly refers to the past, or one that is only feared
    ("万一着火了怎么跑", "要是煤气泄漏了"); no number to call.
  * ``normal`` — everything else, including negated emergency words ("没着火", "预防火灾").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

HOTLINE_LABELS = {"110": "报警电话", "119": "消防救援电话", "120": "急救电话", "122": "交通事故报警电话"}


@dataclass(frozen=True)
class Urgency:
    level: str                       # 'emergency' | 'urgent' | 'normal'
    hotline: str | None              # the number to call first, only for emergencies
    reason: str                      # short Chinese reason, e.g. '火情', '有人受伤'
    hotlines: tuple[str, ...] = ()   # every number that applies, most important first

    @property
    def is_emergency(self) -> bool:
        return self.level == "emergency"


# (pattern, hotline, reason); order inside a hotline does not matter, hotlines are ranked below.
_EMERGENCY_RULES: tuple[tuple[str, str, str], ...] = (
    (r"着火|起火|失火|火灾(?!隐患)|烧起来了|火烧起来|火势|冒黑烟.{0,4}(?:屋|楼|房)|浓烟滚滚.{0,6}(?:楼|屋|房)", "119", "火情"),
    (r"(?:煤气|燃气|天然气|液化气|气罐)(?:管道?)?(?:泄漏|泄露|漏气|漏了)|(?:闻到|一股|好大的?).{0,3}(?:煤气|燃气|天然气)味", "119", "燃气泄漏"),
    (r"爆炸|炸了.{0,4}(?:有人|起火)", "119", "爆炸"),
    (r"被困|困在.{0,6}(?:里|中)|关在电梯|电梯.{0,4}困(?:人|住)|出不来了", "119", "有人被困"),
    (r"溺水|掉(?:进|到)?(?:河|水|湖|塘|井)里|落水", "119", "落水"),
    (r"有人受伤|受了?重伤|(?:流|出)了?(?:好多|很多|一地|满脸|不少)?血|头破血流|晕倒|昏迷|昏过去|不省人事|没(?:有)?呼吸|(?:人|他|她|老人|孩子|大爷|奶奶|爷爷)(?:快|已经)?没气了|"
     r"心脏病(?:犯|发作)|抽搐|中毒|喘不上气|快不行了|骨折|摔伤|烫伤|烧伤|割伤|咬伤.{0,4}(?:流血|很重)", "120", "有人受伤或急病"),
    (r"持刀|拿(?:着)?刀|砍人|捅人|行凶|杀人|抢劫|打劫|绑架|劫持|"
     r"(?:正在|在)(?:打人|打架|砸)|打(?:起来|架)了|有人打人|家暴|家庭暴力|殴打|"
     r"打我(?!的?(?:电话|手机|号码|主意|妈|爸|家|奶|爷|孩子))|(?:老公|丈夫|男人|老婆|妻子|男朋友).{0,6}打(?:孩子|娃)|"
     r"(?:要|想|准备)(?:跳楼|跳河|自杀|轻生)|跳楼|(?:小偷|贼)(?:正在|还在)|撬门|入室|闯进", "110", "人身安全受到威胁"),
    (r"孩子(?:丢了|走丢|不见了|被拐)|老人走失|走失了", "110", "有人走失"),
    (r"救命|快来人|快报警", "110", "紧急求助"),
    (r"车祸|交通事故|撞车|撞人|被车撞|追尾|翻车|撞了(?:人|车)", "122", "交通事故"),
)

_HAZARD = re.compile(r"隐患|漏电|电线裸露|电线老化|井盖(?:丢|没了|被偷|坏)|塌陷|随时(?:会|可能)|危险|摇摇欲坠|"
                     r"有(?:煤气|燃气)味|危房|倒塌|脱落|砸到人|悬空")
_PAST = re.compile(r"去年|前年|上个?月|上半年|以前|之前|曾经|那次|当年|前几年|几年前|上次")
_NOW = re.compile(r"(?<![到至])现在|正在|马上|赶紧|快来|快点|救命|刚刚|刚才|还在|此刻|!|！")
_NEGATION = re.compile(r"(?:没有?|不是|并未|未|无|防止|预防|以防|防范)$")
# Feared, not happening: a fear word earlier in the same clause ("担心哪天起火"), or a
# consequence right after ("着火了都没法跑"). Only for what threatens a building (119); a
# feared attacker or injury ("我怕他拿刀砍人") stays an emergency.
_FEARED = re.compile(r"怕|担心|万一|要是|如果|假如|一旦|容易|迟早|早晚")
_FEARED_AFTER = re.compile(r"^了?(?:都|也|就)(?:没法|没地方|跑不|出不|来不及)")
_CLAUSE_END = re.compile(r"[，。！？；,.!?;\s]")

_COMPILED = tuple((re.compile(p), hotline, reason) for p, hotline, reason in _EMERGENCY_RULES)
# When several numbers apply the first one in this order is told first: fire and gas
# threaten everyone around, a violent person is next, then the injured, then the road.
_PRIORITY = ("119", "110", "120", "122")


def _hits(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(hotline, reason) of every emergency said to be happening, and reasons only feared."""
    hits, feared = [], []
    for pattern, hotline, reason in _COMPILED:
        for match in pattern.finditer(text):
            before = text[max(0, match.start() - 3):match.start()]
            if _NEGATION.search(before):
                continue
            clause = _CLAUSE_END.split(text[max(0, match.start() - 8):match.start()])[-1]
            after = text[match.end():match.end() + 6]
            if hotline == "119" and (_FEARED.search(clause) or _FEARED_AFTER.search(after)):
                feared.append(reason)
                continue
            hits.append((hotline, reason))
            break
    return hits, feared


def mentions_emergency(text: str | None) -> bool:
    """Whether any emergency word occurs at all, even negated, feared or in the past: then a
    model's "emergency" guess must not overrule what detect_urgency decided."""
    return bool(text) and any(pattern.search(text[:5000]) for pattern, _, _ in _COMPILED)


def detect_urgency(text: str | None) -> Urgency:
    """Classify the urgency of one message or transcript. Never raises."""
    if not text or not text.strip():
        return Urgency("normal", None, "")
    text = text[:5000]
    hits, feared = _hits(text)
    if hits:
        if _PAST.search(text) and not _NOW.search(text):
            return Urgency("urgent", None, f"{hits[0][1]}（已发生过）")
        numbers = sorted({h for h, _ in hits}, key=_PRIORITY.index)
        reason = next(r for h, r in hits if h == numbers[0])
        return Urgency("emergency", numbers[0], reason, tuple(numbers))
    hazard = _HAZARD.search(text)
    if hazard:
        return Urgency("urgent", None, f"安全隐患（{hazard.group(0)}）")
    if feared:
        return Urgency("urgent", None, f"安全隐患（担心{feared[0]}）")
    return Urgency("normal", None, "")


def hotline_label(number: str) -> str:
    return HOTLINE_LABELS.get(number, "紧急求助电话")
