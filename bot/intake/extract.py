"""The caller's facts from one transcript: summary, place, phone, name, time, case numbers,
urgency. Classification and duplicates are added by the service.

Facts come from the caller's turns, never from the operator's script; the operator's turns
are used only to confirm what the caller said (reading back a number, addressing 王女士).
Plain text without speakers is filtered sentence by sentence for the operator's script.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime


from bot.intake.errors import IntakeError
from bot.intake.names import Name, find_name
from bot.intake.phones import NumberMatch, find_case_numbers, find_numbers, to_ascii_digits
from bot.intake.places import Place, PlaceMatcher
from bot.intake.reader import Transcript
from bot.intake.speakers import CALLER, OPERATOR, RUN_ON, UNKNOWN, caller_pieces
from bot.intake.times import IncidentTime, find_time
from bot.nlu.matters import COUNT_FRAME, lists_matter
from bot.nlu.urgency import Safety, assess, despace, load_rules
from bot.privacy import masked_head

SUMMARY_LIMIT = 120
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")
_FILLER = re.compile(r"^(?:喂+|你好|您好|哎|唉|嗯+|啊+|哦+|噢|对+|对的|是的?|好的?|行|可以|谢谢|再见|拜拜|没有了|没了|"
                     r"那个|就是|这个|然后|麻烦了|麻烦你了|辛苦了|同志|领导|我想|我要|我想问一下|我想反映一下|我要反映一下|"
                     r"反映个事|反映一个事|反映一个问题|我要投诉|我反映一下|反映一下|反映|举报一下|咨询一下|问一下|"
                     rf"{COUNT_FRAME}|[，,、\s])+")
_ONLY_CONTACT = re.compile(r"^(?:我|俺)?(?:的)?(?:电话|手机|号码|联系方式)?(?:号码)?(?:是|就是)?[\d\s\-，,]+$|"
                           r"^(?:免贵)?(?:我)?(?:姓|叫)\S{1,4}$")
_DEMAND = re.compile(r"希望|要求|请求|问问|请(?:你们|有关|相关|政府|领导)|麻烦(?:你们|您|帮)|帮(?:我|忙|我们)|能不能|能否|"
                     r"可不可以|赶紧|尽快|抓紧|给个说法|处理一下|管一?管|解决|想问|咨询|怎么办|怎么(?:申请|办|弄|处理)|"
                     r"如何|去哪|哪里(?:办|能)|要什么材料|退(?:钱|款|费)|赔偿|查一下|督促|整改|取缔|制止")
_PROBLEM = re.compile(r"坏|漏|吵|噪|堵|停|没人|不给|不发|不退|拖欠|欠|投诉|乱|违|臭|脏|危险|被|扰|污|收费|不让|不开|"
                      r"烧|垃圾|塌|断|破|占|骗|偷|打人|打架|殴打|打骂|不热|发黄|异味|没有|不管|不作为|不到位|积水|噪音|施工|摆摊|"
                      r"受伤|着火|起火|泄漏|困|撞|晕|流血|救|差|态度|没发|没到|没给|没收到|一直没|还没|不新鲜|过期|假的|"
                      r"吐|泻|拉肚子|咬|丢|贵|多收|乱收|绕路|不理|推给|推诿|拖|不公开|不制冷|开裂|渗水|发黑|发臭|"
                      r"冒烟|冒出|漏水|掉|砍|埋|偷排|排放|难|不合理|不合格|辞退|补偿|不够|少了|冒|死|补课|冷落|强制|必须买|诈骗|骗子|转了|打不通|联系不上|找不到|不见了|"
                      r"收(?:了)?[\d一二三四五六七八九十两百千万]+(?:块|元)?")
# What an errand or a question is about: as good as a trouble word for the summary.
_ERRAND = re.compile(r"申请|办理|补办|领取|怎么领|怎么办|材料|补贴|低保|报销|证明|户口|登记|证件|手续|资格|政策")
# A sentence about the phone line ("尾号3392，就是现在打进来的这个") is contact, not a fact.
_CONTACT_TALK = re.compile(r"尾号|电话|号码|手机|座机|联系方式|打进来|这个号")
# "我们是桃园村的" says only where: the place goes in front of the summary, not as a fact.
_ONLY_WHERE = re.compile(r"^(?:我|俺|我们|俺们|咱们|我家)?(?:家)?(?:是|在|住在|住|就在)?")
_SELF_PHONE = re.compile(r"(?:我|俺|本人|咱)(?:的|家)?(?:电话|手机|号码|联系方式|座机)?|联系(?:我|电话|方式)|回(?:电|个电话)|"
                         r"打(?:我|这个)|号码(?:是|就是)|电话(?:是|就是)|手机(?:号)?(?:是|就是)|留(?:个|一下)")
_THIRD_PHONE = re.compile(r"物业|公司|老板|商家|店(?:主|里|家)?|饭店|对方|他(?:的|们)|她(?:的|们)|房东|包工头|中介|"
                          r"客服|售后|学校|医院|单位|厂|司机|师傅的|工头|经理|村委|社区的|儿子|女儿|老公|爱人|家属")
_READ_BACK = re.compile(r"您的|你的|您这个|是不是|对吗|对吧|没错吧|核对|确认")
_CLAUSE_END = re.compile(r"[，,。.；;！!？?\n]")
# The blank between two ASR segments of Chinese speech (not inside a number said digit by
# digit: "一八六 八八二零").
_NUMERAL = "零〇一二三四五六七八九幺两"
_ASR_BLANK = re.compile(rf"(?<=[\u4e00-\u9fff])(?<![{_NUMERAL}])\s+(?=[\u4e00-\u9fff])|"
                        rf"(?<=[\u4e00-\u9fff])\s+(?![{_NUMERAL}])(?=[\u4e00-\u9fff])")
# A clause that is only a greeting or the hotline's name carries no fact of the caller's.
_GREETING = re.compile(r"^(?:(?:喂+|您好|你好|哎|嗯+|好的?|请讲|请说)[，,。.！!？?\s]*)+$|"
                       r"^[\u4e00-\u9fff]{0,10}(?:热线|服务中心|代理中心)[，,。.！!？?\s]*$")
_CLAUSE = re.compile(r"[，,]\s*")
# A written note's head ("来电人周女士反映：", "诉求：") is not a fact of the caller's.
_NOTE_HEAD = re.compile(r"^(?:(?:来电人|来电者|市民|群众|居民|村民)[\u4e00-\u9fff]{0,4}?(?:反映|来电|称)|"
                        r"诉求|要求|反映内容|内容|联系电话|备注)[：:，,\s]*")
_THIS_LINE = re.compile(r"(?:就|用)?(?:这个|本|当前|来电)(?:号码?|手机|电话)|打进来的(?:这个)?(?:号|电话)")


@dataclass
class Phone:
    number: str
    kind: str                   # 'mobile' | 'landline' | 'local'
    source: str                 # 'caller' | 'operator' | 'transcript' | 'metadata'
    valid: bool                 # storable as a contact (local numbers lack the area code)


@dataclass
class Extraction:
    caller_text: str
    summary: str
    place: Place
    phone: Phone | None
    phone_tail: str | None
    other_phones: list[str]
    case_numbers: list[str]
    name: Name | None
    incident_time: IncidentTime | None
    urgency: Safety                 # level emergency | threat | crisis | urgent | normal
    warnings: list[str] = field(default_factory=list)


def caller_sentences(transcript: Transcript) -> list[str]:
    """What the caller said, sentence by sentence.

    With speakers, the caller's turns. Without, every sentence is cut into clauses (commas,
    and the blanks an ASR engine leaves between segments) and the operator's clauses
    ("先生您别着急", "具体哪个位置", "我这边帮您转接") are dropped; the caller's clauses of a
    sentence stay together.
    """
    if transcript.has_speakers:
        texts = [t.text for t in transcript.turns if t.speaker_role == CALLER]
        if not texts:
            raise IntakeError("no caller turns: only the operator speaks in this transcript",
                              "转写中没有来电人的发言（只有话务员的话），无法提取诉求")
        return [s for text in texts for s in _sentences(text)]
    kept = []
    for turn in transcript.turns:
        for sentence in _sentences(turn.text):
            clauses = [c for c in _CLAUSE.split(sentence) if c.strip(" ，,。.！!？?；;")]
            own = [p.strip() for c in clauses for p in caller_pieces(c) if not _GREETING.match(p.strip())]
            if own:
                kept.append(sentence if own == [c.strip() for c in clauses] else "，".join(own))
    if not kept:
        raise IntakeError("no caller content: every sentence is the operator's script",
                          "转写中找不到来电人的陈述（全部是话务员的话术）")
    return kept


# A clause said to the caller ("您注意安全先离开现场", "您可以到服务中心问问") is the operator's
# even where the script does not know it: in text without speakers the caller's place is never
# read from it.
_TO_CALLER = re.compile(r"您(?!好)")
_SELF = re.compile(r"我|俺|咱")
_SEGMENT_END = re.compile(rf"([。！？!?；;\n，,]+\s*|{_ASR_BLANK.pattern})")


def _said_to_caller(clause: str) -> bool:
    return bool(_TO_CALLER.search(clause)) and not _SELF.search(clause)


def _place_text(transcript: Transcript) -> str:
    """The caller's words as said, for reading the place: the blanks an ASR engine leaves
    inside an address (城关镇 新华社区, 幸福 小区 八栋) are kept; without speakers, every
    clause of the operator's (or said to the caller) becomes a line break no address crosses."""
    if transcript.has_speakers:
        return "\n".join(t.text for t in transcript.turns if t.speaker_role == CALLER)
    out: list[str] = []
    for turn in transcript.turns:
        parts = _SEGMENT_END.split(turn.text)
        for segment, end in zip(parts[::2], parts[1::2] + [""]):
            clause = segment.strip()
            if not clause or _GREETING.match(clause) or _said_to_caller(clause) and len(clause) < RUN_ON:
                out.append("\n")
                continue
            pieces = caller_pieces(clause)
            out.append(segment + end if pieces == [clause] else "\n".join(["", *pieces, ""]))
        out.append("\n")
    return "".join(out)


def _sentences(text: str) -> list[str]:
    """Sentences by their punctuation; the blanks an ASR engine leaves between segments of
    Chinese speech end a sentence too."""
    return [p.strip() for s in _SENTENCE.findall(text) for p in _ASR_BLANK.split(s) if p.strip()]


def _safety_text(transcript: Transcript, caller_text: str) -> str:
    """What the safety check reads: the caller's sentences; where ASR spaced out every word
    ("我 老公 拿 刀 要 砍 我"), each blank would end a sentence of one word, so the sentences are
    taken from the turns with those blanks removed (bot.nlu.urgency.despace)."""
    joined = [replace(turn, text=despace(turn.text)) for turn in transcript.turns]
    if all(new.text == old.text for new, old in zip(joined, transcript.turns)):
        return caller_text
    return "\n".join(caller_sentences(replace(transcript, turns=joined)))


def extract(transcript: Transcript, places: PlaceMatcher, reference: datetime | None = None) -> Extraction:
    sentences = caller_sentences(transcript)
    caller_text = "\n".join(sentences)
    operator_text = transcript.text_of(OPERATOR)
    warnings: list[str] = []

    place = places.find(_place_text(transcript))
    if place.area is None and operator_text:
        # The operator often reads the address back ("您说的是滨河社区3栋对吧").
        echoed = places.find(operator_text)
        if echoed.area:
            place = echoed
            warnings.append("地点来自话务员复述，请核实")

    phone, tail, others = _pick_phone(transcript)
    if phone is None and tail:
        warnings.append(f"来电人只说了尾号 {tail}，请补全联系电话")
    elif phone is None:
        warnings.append("未找到联系电话，请向来电人确认")
    elif not phone.valid:
        warnings.append(f"电话 {phone.number} 缺少区号，请补全")

    labels = [t.speaker for t in transcript.turns if t.speaker_role == CALLER and t.speaker]
    name = find_name(caller_text, operator_text, labels)
    case_numbers = _case_numbers(transcript)
    urgency = assess(_safety_text(transcript, caller_text))   # reads traditional characters itself
    if urgency.is_crisis:
        rules = load_rules()
        warnings.append(f"来电人流露轻生或自伤的念头：请告知{rules.label(rules.crisis_hotline)} "
                        f"{rules.crisis_hotline}，由专人回访跟进，按紧急件办理")
    if urgency.is_threat:
        warnings.append(f"来电人扬言对他人或单位使用暴力：请报告督办人员，必要时拨打 {load_rules().threat_hotline}")
    incident = find_time(caller_text, reference or _reference_time(transcript))
    summary = summarize(sentences, name, place)
    return Extraction(caller_text, summary, place, phone, tail, others, case_numbers, name,
                      incident, urgency, warnings)


# ---------------------------------------------------------------------- summary
def summarize(sentences: list[str], name: Name | None, place: Place) -> str:
    """诉求摘要 in the caller's own facts: who, where, what, and what they want.

    "What" is the caller's sentence with the most trouble words, joined only with the
    sentence right next to it when that one goes on about the trouble (never a far-apart
    line); "what they want" is the first demand that is not already said.
    """
    cores: list[tuple[int, str]] = []
    for index, sentence in enumerate(sentences):
        core = _FILLER.sub("", _NOTE_HEAD.sub("", _FILLER.sub("", sentence))).strip("，,。；;、 ")
        plain = to_ascii_digits(core)
        if len(re.sub(r"[\d\s\-，,、。]", "", plain)) < 4 or _ONLY_CONTACT.match(plain):
            continue
        cores.append((index, core))
    where = place.address or place.area_name

    def trouble(core: str) -> float:
        found = len(_PROBLEM.findall(core)) + 0.8 * min(2, len(_ERRAND.findall(core)))
        if found and _CONTACT_TALK.search(core) and re.search(r"\d|[一二三四五六七八九零幺]{3}", core) \
                and len(_PROBLEM.findall(core)) <= 1:
            return 0.0
        return found + (0.5 if found and where and where in core else 0)

    def only_where(core: str) -> bool:
        rest = core.replace(place.address or "\0", "").replace(place.matched or "\0", "")
        return len(_ONLY_WHERE.sub("", rest).strip("的了啊呀，, ")) < 2

    cores = [(index, core) for index, core in cores if not only_where(core)]
    facts = [(trouble(core), index, core) for index, core in cores if trouble(core) > 0
             and not (_DEMAND.search(core) and not _PROBLEM.search(core))]
    parts: list[tuple[int, str]] = []
    enumerated = [(index, core) for index, core in cores if lists_matter(core)]
    if len(enumerated) >= 2:
        # 一是…；二是…；三是…: every matter in the order said, the first one first.
        parts = enumerated
    elif facts:
        _, index, core = max(facts, key=lambda f: (f[0], -f[1]))
        parts.append((index, core))
        by_index = {i: c for _, i, c in facts}
        for near in (index + 1, index - 1):
            if near in by_index and len(by_index[near]) >= 8 and len(core) + len(by_index[near]) < SUMMARY_LIMIT - 30:
                parts.append((near, by_index[near]))
                break
    elif cores:
        parts.append(cores[0])
    parts.sort()
    said = [core for _, core in parts]
    main = parts[0][0] if parts else 0
    demands = [(index, core) for index, core in cores if _DEMAND.search(core) and core not in said]
    demand = next((core for index, core in demands if index > main), None) or \
        next((core for _, core in demands), None)
    who = name.display if name else "来电人"
    body = ("；" if len(enumerated) >= 2 else "，").join(said) if said else "（未能提取，请话务员填写）"
    if where and where not in body and not (place.matched and place.matched in body):
        body = f"{where}，{body}"
    text = f"{who}反映：{body}"
    if demand:
        text += f"；诉求：{demand}"
    text += "。"
    # masked before it is cut: a cut through a phone number would show its first digits
    return masked_head(text, SUMMARY_LIMIT, ellipsis="…")


# ---------------------------------------------------------------------- phones
def _pick_phone(transcript: Transcript) -> tuple[Phone | None, str | None, list[str]]:
    scored: list[tuple[float, int, NumberMatch, str]] = []
    tails: list[str] = []
    this_line = False
    order = 0
    for turn in transcript.turns:
        role = turn.speaker_role
        if role in (CALLER, UNKNOWN) and _THIS_LINE.search(turn.text):
            this_line = True
        for match in find_numbers(turn.text):
            order += 1
            if match.kind == "tail" and role != OPERATOR:
                tails.append(match.value)
            if match.kind not in ("mobile", "landline", "local"):
                continue
            before = turn.text[max(0, match.start - 12):match.start]
            clause = _CLAUSE_END.split(before)[-1]     # '物业电话是' of '…，物业电话是139…'
            around = before + turn.text[match.end:match.end + 8]
            score = {CALLER: 3.0, UNKNOWN: 2.0, OPERATOR: 0.5}[role]
            if role != OPERATOR and _SELF_PHONE.search(clause):
                score += 2
            if _THIRD_PHONE.search(clause):
                score -= 4
            if role == OPERATOR and _READ_BACK.search(around):
                score += 2.5
            if match.kind == "local":
                score -= 1
            source = {CALLER: "caller", OPERATOR: "operator", UNKNOWN: "transcript"}[role]
            scored.append((score, -order, match, source))
    meta = transcript.meta.get("caller_number")
    if meta:
        found = [m for m in find_numbers(meta) if m.kind in ("mobile", "landline")]
        if found:
            bonus = 4.0 if this_line else 1.0
            if tails and found[0].value.endswith(tails[0]):
                bonus = 6.0
            scored.append((bonus, 0, found[0], "metadata"))
    positive = [s for s in scored if s[0] > 0]
    others = sorted({m.value for _, _, m, _ in scored})
    if not positive:
        return None, (tails[0] if tails else None), others
    score, _, best, source = max(positive, key=lambda s: (s[0], s[1]))
    others = [o for o in others if o != best.value]
    phone = Phone(best.value, best.kind, source, best.kind != "local")
    tail = tails[0] if tails and not best.value.endswith(tails[0]) else None
    return phone, tail, others


def _case_numbers(transcript: Transcript) -> list[str]:
    seen: list[str] = []
    for role in (CALLER, UNKNOWN, OPERATOR):
        for turn in transcript.turns:
            if turn.speaker_role == role:
                for match in find_case_numbers(turn.text):
                    if match.value not in seen:
                        seen.append(match.value)
    return seen


_ABS = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2}):(\d{2}))?")


def _reference_time(transcript: Transcript) -> datetime | None:
    """The call's own time: a batch column, else the first absolute timestamp."""
    candidates = [transcript.meta.get("called_at")] + [t.start for t in transcript.turns]
    for value in candidates:
        m = _ABS.search(value or "")
        if m:
            try:
                y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
                return datetime(y, mo, d, int(m.group(4) or 0), int(m.group(5) or 0))
            except ValueError:
                continue
    return None
