"""Who is speaking: speaker labels → 'operator' | 'caller' | 'unknown'.

Labels come as roles (话务员, 坐席, 客服 … / 市民, 来电人, 群众 …), as titles (王先生, 李女士),
or neutral (A/B, 甲/乙, 说话人1, spk_0, 0/1). Neutral labels are resolved from what each
speaker says: the operator greets with the hotline's name, asks for details and closes the
call; the caller speaks of themself and their trouble.
"""
from __future__ import annotations

import re

OPERATOR, CALLER, UNKNOWN = "operator", "caller", "unknown"

_OPERATOR_LABEL = re.compile(
    r"话务员?|坐席|座席|客服|接线员?|工作人员|操作员|接警员|受理员|值班员|代理员|热线|12345|"
    r"agent|operator|staff|service|客服代表|主持人", re.I)
_CALLER_LABEL = re.compile(
    r"市民|来电人?|来电者|群众|用户|居民|村民|客户|反映人|诉求人|投诉人|业主|家长|"
    r"先生|女士|小姐|阿姨|大爷|大妈|大姐|大哥|师傅|老人|老汉|caller|customer|client|user|citizen",
    re.I)

# Operator script: greeting with the hotline's name, asking for details, closing the call.
OPERATOR_SCRIPT = re.compile(
    r"(?:这里|我这边|我这里)是.{0,16}(?:热线|中心|代理|服务|平台)|(?:热线|中心|代理站|代理点).{0,4}(?:您好|你好)|"
    r"工号|为您服务|请讲|请说|请问(?:您|你|有什么|是)|您(?:贵姓|怎么称呼|的(?:联系)?(?:电话|方式|手机|号码|姓名|地址))|"
    r"(?:给|帮|为)您(?:登记|记录|反映|转|派|查|核实|处理|反馈)|我们(?:会|将|马上|尽快|这边会)|"
    r"感谢(?:您的)?来电|还有(?:其他|别的|什么)(?:问题|事|需要|诉求)|稍等|(?:好的|嗯)[，,]?(?:我|已经)?(?:记下|记录)|"
    r"您(?:说的|反映的)是|您看(?:这样|可以)|工单(?:号|编号)是|受理(?:编号|号)是|请(?:您)?(?:保持|留意|注意)|"
    # calming and asking for details: "先生您别着急", "具体哪个位置", "我这边帮您转接"
    r"您?(?:先)?(?:别|不要)(?:着急|急|慌)|您?慢慢说|具体(?:是)?(?:在)?(?:哪个|什么|哪一?)(?:位置|地址|地方|小区|路段|时间|栋)|"
    r"(?:在)?哪个位置|什么位置|(?:详细|具体)(?:的)?(?:地址|位置)|(?:帮|为|给)您(?:转接|接通|联系)|正在(?:为您)?转接|"
    r"请(?:您)?稍等|(?:先生|女士|阿姨|大爷|大姐|大哥|师傅)[，,]?您|您(?:放心|先|这边)|我这边(?:马上|立即|先|会)?(?:帮您|给您|为您|登记|记录|转)|"
    r"好的[，,]?(?:先生|女士|阿姨|大爷|大姐|师傅)")
_CALLER_VOICE = re.compile(
    r"我(?:家|们|的|是|想|要|姓|住|在|叫|就|妈|爸|老|儿|女)|俺|咱|帮(?:我|忙|帮)|希望|麻烦(?:你们|您)|"
    r"怎么办|没人管|能不能|求求|谢谢")


def role_of_label(label: str) -> str | None:
    """The role a label names by itself, or None for neutral labels (A, 甲, 说话人1 …)."""
    if _OPERATOR_LABEL.search(label):
        return OPERATOR
    if _CALLER_LABEL.search(label):
        return CALLER
    return None


def resolve_roles(turns: list[tuple[str, str]]) -> dict[str, str]:
    """Map each label of (label, text) turns to a role.

    Named roles are taken as they are; neutral ones are scored on what they say. With two
    neutral speakers and nothing to tell them apart, the first speaker is the operator
    (the hotline answers the call).
    """
    roles: dict[str, str] = {}
    neutral: list[str] = []
    for label, _ in turns:
        if label in roles or label in neutral:
            continue
        role = role_of_label(label)
        if role:
            roles[label] = role
        else:
            neutral.append(label)
    if not neutral:
        return roles
    scores = {label: 0.0 for label in neutral}
    for label, text in turns:
        if label in scores:
            scores[label] += len(OPERATOR_SCRIPT.findall(text)) - 0.5 * len(_CALLER_VOICE.findall(text))
    has_operator = OPERATOR in roles.values()
    has_caller = CALLER in roles.values()
    if has_operator and has_caller:        # a third voice: judge it on what it says
        for label in neutral:
            roles[label] = OPERATOR if scores[label] > 0 else CALLER
        return roles
    if has_operator:
        for label in neutral:
            roles[label] = CALLER
        return roles
    ranked = sorted(neutral, key=lambda lb: -scores[lb])
    top = ranked[0]
    if len(ranked) > 1 and scores[top] == scores[ranked[1]]:
        top = neutral[0]   # a tie: whoever spoke first answered the phone
    if not has_caller and len(neutral) == 1:
        roles[top] = CALLER   # a monologue: the caller's own account
        return roles
    for label in neutral:
        roles[label] = OPERATOR if label == top else CALLER
    return roles


# Stricter than _CALLER_VOICE for one clause: an operator's "我们马上帮您…" is not the caller.
_CALLER_SELF = re.compile(
    r"我(?:家|的|是|想|要|姓|住|在|叫|就|妈|爸|老|儿|女|爱人|们(?:家|小区|村|这|那|楼|单位|厂))|俺|咱|"
    r"帮(?:我|忙|帮)|希望|麻烦(?:你们)|怎么办|没人管|能不能|求求")


# An unpunctuated run this long is the whole call or much of it, both voices at once.
RUN_ON = 30
# In such a run, the stretch between two pieces of script that is at least this long is the
# caller speaking; shorter ones are what the operator said around the script ("别移动伤者").
CALLER_STRETCH = 10


def caller_pieces(clause: str) -> list[str]:
    """The caller's part of one clause of text without speakers: all of it, none of it (the
    operator's script), or, for a run-on clause with no punctuation at all where ASR joined
    both voices, the long stretches between the pieces of script."""
    if not is_operator_sentence(clause):
        return [clause]
    if len(clause) < RUN_ON:
        return []
    return [piece for piece in OPERATOR_SCRIPT.split(clause) if len(piece.strip()) >= CALLER_STRETCH]


def is_operator_sentence(sentence: str) -> bool:
    """For text without speakers: does this sentence (or clause) sound like the operator's
    script? A clause in the caller's own voice never is."""
    return bool(OPERATOR_SCRIPT.search(sentence)) and not _CALLER_SELF.search(sentence)
