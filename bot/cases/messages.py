"""What residents read: natural Chinese texts for each public event."""
from __future__ import annotations

from datetime import datetime

from bot.cases.calendar import WorkCalendar


def short(text: str, limit: int = 20) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def day_label(calendar: WorkCalendar, moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = calendar.local(moment)
    return f"{local.month}月{local.day}日"


def deadline_label(calendar: WorkCalendar, moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = calendar.local(moment)
    if (local.hour, local.minute) == (23, 59):
        return f"{local.month}月{local.day}日"
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def received(summary: str, number: str) -> str:
    return f"您反映的“{short(summary)}”已受理，编号 {number}。我们会把每一步进展告诉您。"


def assigned(summary: str, number: str, body: str, due: str) -> str:
    return f"您反映的“{short(summary)}”（编号 {number}）已派给 {body} 办理，承诺 {due} 前办结。"


def accepted(summary: str, number: str, body: str, due: str) -> str:
    return f"您反映的“{short(summary)}”（编号 {number}）已由 {body} 签收，承诺 {due} 前办结。"


def started(summary: str, number: str, body: str) -> str:
    return f"您反映的“{short(summary)}”（编号 {number}）{body} 已开始办理。"


def replied(number: str, body: str, text: str) -> str:
    return f"关于编号 {number} 的诉求，{body} 答复：{text}"


def transferred(summary: str, number: str, body: str, due: str) -> str:
    return f"您反映的“{short(summary)}”（编号 {number}）已转交 {body} 办理，承诺 {due} 前办结。"


def extended(number: str, due: str, reason: str) -> str:
    return f"编号 {number} 的诉求办理期限延长至 {due}，原因：{reason}"


def escalated(number: str, tier_label: str) -> str:
    return f"编号 {number} 的诉求未能按时办理，已提请{tier_label}督办，我们会继续跟进。"


# The question a resolved notice ends with, and the one-tap answers the doors offer under it
# (web chat quick replies, a Telegram reply keyboard); the dialogue reads them as words.
RATING_QUESTION = "问题解决了吗？您对办理结果满意吗？欢迎回复评价。"
RATING_REPLIES = ("问题解决了", "没有解决")


def resolved(number: str, body: str, text: str) -> str:
    return f"编号 {number} 的诉求已办结。{body} 的办理结果：{text}\n{RATING_QUESTION}"


def reopened(number: str) -> str:
    return f"收到您的评价。编号 {number} 的诉求已重新交办，我们会继续跟进直到解决。"


def rated(number: str) -> str:
    return f"感谢您的评价！编号 {number} 的诉求已记录您的意见。"


def closed(number: str) -> str:
    return f"编号 {number} 的诉求已归档。感谢您的信任，有新的问题随时找我们。"


def withdrawn(number: str) -> str:
    return f"编号 {number} 的诉求已按您的意愿撤回。如有需要，欢迎随时再次反映。"


def referred(number: str, text: str) -> str:
    return f"编号 {number} 的诉求不属于代理受理范围，已为您转介：{text}"


def merged(number: str, target: str) -> str:
    return (f"您反映的编号 {number} 的诉求与编号 {target} 为同一事项，已合并办理；"
            f"之后的进展会按编号 {target} 通知您。")


def joined(number: str, joint: str, body: str, due: str) -> str:
    return (f"您反映的编号 {number} 的诉求，附近还有多位群众反映了同一问题，现已纳入联合办理工单 "
            f"{joint}，由 {body} 统一办理，承诺 {due} 前办结。您的编号不变，"
            f"之后的进展和办理结果会继续按编号 {number} 告诉您。")


def joint_replied(number: str, joint: str, body: str, text: str) -> str:
    return f"关于编号 {number} 的诉求（联合办理工单 {joint}），{body} 答复：{text}"


def joint_resolved(number: str, joint: str, body: str, text: str) -> str:
    return (f"编号 {number} 的诉求已随联合办理工单 {joint} 一并办结。{body} 的办理结果：{text}\n"
            f"{RATING_QUESTION}")


TIER_LABELS = {"point": "代理点", "station": "代理站", "center": "代理中心"}
