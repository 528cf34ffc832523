"""Composed replies (those with lists or many parts). Fixed replies live in domain.yml."""
from __future__ import annotations

from bot.cases.validation import mask_phone
from bot.catalog import Category
from bot.errands import Service

ANONYMOUS = "匿名"


def contact_label(contact: str | None) -> str:
    if not contact or contact == ANONYMOUS:
        return "匿名（进展会在这里告诉您）"
    return mask_phone(contact) or contact


def read_back(description: str, category_label: str | None, place: str | None,
              event_time: str | None, contact: str | None, name: str | None) -> str:
    lines = ["请您核对一下登记内容：", f"· 事项：{description}"]
    if category_label:
        lines.append(f"· 分类：{category_label}")
    if place:
        lines.append(f"· 地点：{place}")
    if event_time:
        lines.append(f"· 时间：{event_time}")
    who = contact_label(contact)
    if name and contact and contact != ANONYMOUS:
        who = f"{name} {who}"
    lines.append(f"· 联系方式：{who}")
    lines.append("没问题的话请回复“确认”，我马上为您登记；哪一项不对，直接告诉我怎么改就行。")
    return "\n".join(lines)


def case_opened(number: str, body: str | None, due: str | None, kind: str) -> str:
    what = {"errand": "代办申请", "petition": "信访代理申请"}.get(kind, "诉求")
    text = f"已为您登记{what}，编号 {number}。"
    if body:
        text += f"\n由{body}办理"
        text += f"，承诺 {due} 前办结。" if due else "。"
    text += "\n之后每一步进展我都会在这里告诉您，您也可以随时发编号查询。"
    return text


def open_failed(reason: str | None = None) -> str:
    head = f"抱歉，登记没有成功：{reason}" if reason else "抱歉，系统暂时出了点问题，登记没有成功。"
    return head + "\n您说的内容我都记着，稍后回复“确认”就能再提交一次。"


def handoff(number: str | None) -> str:
    """The hand-off promise, only as far as it was recorded."""
    hours = "工作时间（工作日 8:30—17:30）代理员会尽快在这里回复您；非工作时间请留言，上班后第一时间联系您。"
    urgent = "紧急情况请直接拨打110、119或120。"
    if number:
        return f"好的，已为您转接人工代理员，诉求编号 {number}。{hours}{urgent}"
    return ("好的，我来为您转接人工代理员。系统暂时出了点问题，转接还没登记上，请过几分钟再说一次“转人工”。"
            + urgent)


def detail_added(number: str, *, referred: bool) -> str:
    if referred:
        return (f"已把这条补充记到编号 {number} 的登记里。如果还没有拨打紧急电话，请马上拨打，"
                "现场情况以救援人员的指挥为准。")
    return f"已把您补充的内容加到编号 {number} 的诉求里，代理员会看到。"


def service_unavailable() -> str:
    return "抱歉，系统暂时出了点问题，请稍后再试。您说的内容我已经记下了。"


def emergency(hotlines: tuple[str, ...], labels: dict[str, str]) -> str:
    first = hotlines[0]
    text = f"情况紧急！请立即拨打 {first}（{labels[first]}）！"
    for other in hotlines[1:]:
        text += f"\n如有需要，请同时拨打 {other}（{labels[other]}）。"
    text += "\n请先确保自己的安全，远离危险区域。"
    return text


def emergency_recorded(number: str) -> str:
    return (f"我们已把这件事登记备案，编号 {number}，代理员会跟进后续情况。"
            "但请不要等我们回复，先打电话求助！")


def status(view, latest: str | None, due: str | None) -> str:
    text = f"编号 {view.number}（{short(view.summary)}）目前状态：{view.state_label}。"
    if view.body and view.state not in ("referred", "withdrawn", "merged"):
        text += f"\n承办单位：{view.body['name']}"
        if due and view.state not in ("resolved", "closed"):
            text += f"，承诺 {due} 前办结"
        text += "。"
    if view.overdue:
        text += "\n这件诉求已经超过办理期限，我们正在督办。"
    if view.merged_into:
        text += f"\n已与编号 {view.merged_into} 合并办理，进展会按那个编号告诉您。"
    if latest:
        text += f"\n最新进展：{latest}"
    return text


def case_lines(views) -> str:
    lines = [f"您在这里提交的诉求（共{len(views)}件）："]
    for view in views:
        lines.append(f"· {view.number} {short(view.summary)} —— {view.state_label}")
    lines.append("想看哪一件的详细进展，把编号发给我就行。")
    return "\n".join(lines)


PETITION_CHANNEL = (
    "信访要依法、逐级、按程序反映。代理员可以帮您整理诉求、准备材料，代您向县信访局提交并跟踪结果；"
    "已经进入诉讼、仲裁或行政复议程序的事项，要按相应的法定程序办理。下面我先帮您登记。")


def understood(category: Category, service: Service | None) -> str:
    """What the assistant says once it has understood a report: the category in words, for an
    errand the usual materials, for a petition the legal channel."""
    label = f"“{category.level1}／{category.level2}”"
    if category.kind == "petition":
        return f"您反映的是{label}方面的事项。{PETITION_CHANNEL}"
    if category.kind == "errand":
        guide = ""
        if service:
            guide = (f"一般需要准备：{'；'.join(service.materials)}。办理地点：{service.where}。"
                     f"办理时限：{service.duration}。")
        return f"好的，您要办理的是{label}。{guide}我来帮您登记代办，代理员会联系您。"
    if category.kind == "consult":
        return f"好的，您咨询的是{label}方面的问题，我帮您登记，代理员会给您答复。"
    return f"好的，您反映的是{label}方面的问题，我来帮您登记。"


def errand_guide(service: Service) -> str:
    return service.describe() + "\n需要的话，代理员可以帮您预审材料、代为办理。要帮您登记代办吗？"


def short(text: str, limit: int = 20) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- form questions and checks
ASK_DESCRIPTION = "请您具体说说遇到了什么问题？比如什么事、影响到了谁。"
ASK_PLACE = "请问是在什么地方？说个小区、村组、路名门牌或附近的标志就行。"
ASK_PLACE_ERRAND = "请问您住在哪个社区或村组？我们好安排就近的代理员为您代办。"
ASK_EVENT_TIME = "这个情况是什么时候发生的，或者持续多久了？记不清也没关系，说个大概就行。"
ASK_CONTACT = "方便留个手机号吗？代理员可能需要跟您核实情况。不方便也可以匿名，进展会在这里告诉您。"
ASK_CONTACT_BUTTONS = [{"title": "不留电话，匿名反映", "payload": "/anonymous"}]
INFORM_NO_CONTEXT = "收到。请问您想反映什么问题，或者想办理什么事？"
# Said just before the contact question is asked again, so they do not repeat it.
INVALID_PHONE = "这个号码好像不太对：手机号是11位，固定电话请带上区号。"
PHONE_PLEASE = "这句话里没有看到电话号码。"
TOO_SHORT = "能再多说几句吗？说清楚是什么事、什么情况，代理员才好帮您办。"
PLACE_TOO_SHORT = "地点说得再具体一点就好，比如小区名、村组或路名。"
REPORT_CANCELLED = "好的，这次就先不登记了，您说的内容不会提交。需要的时候随时找我。"
WITHDRAW_KEPT = "好的，不撤回，诉求会继续办理。"
ANYTHING_ELSE = "好的。还有什么需要帮您的吗？"
ASK_SOLVED = "您的问题解决了吗？"
ASK_SOLVED_BUTTONS = [{"title": "解决了", "payload": "/rate_solved"},
                      {"title": "没解决", "payload": "/rate_unsolved"}]
ASK_SATISFACTION = "您对这次的办理结果满意吗？"
ASK_SATISFACTION_BUTTONS = [
    {"title": "满意", "payload": '/rate_satisfied{"satisfaction": "满意"}'},
    {"title": "基本满意", "payload": '/rate_satisfied{"satisfaction": "基本满意"}'},
    {"title": "不满意", "payload": '/rate_unsatisfied{"satisfaction": "不满意"}'}]
