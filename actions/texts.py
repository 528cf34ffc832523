"""Composed replies (those with lists or many parts). Fixed replies live in domain.yml."""
from __future__ import annotations

from bot.cases.validation import mask_phone
from bot.catalog import Category
from bot.errands import Service
from bot.privacy import mask_text, masked_head

ANONYMOUS = "匿名"


def contact_label(contact: str | None) -> str:
    if not contact or contact == ANONYMOUS:
        return "匿名（进展会在这里告诉您）"
    return mask_phone(contact) or contact


def read_back(description: str, category_label: str | None, place: str | None,
              event_time: str | None, contact: str | None, name: str | None) -> str:
    """What will be filed, masked as the case will be: the chat transcript (the page, the
    tracker, a shared screen) never shows a 身份证号, a card or a phone number typed in it."""
    description, place, event_time = (mask_text(v) for v in (description, place, event_time))
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
    """`text` on one line, masked and cut to `limit` characters (never through a number)."""
    return masked_head(" ".join((text or "").split()), limit, ellipsis="…")


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
TIME_NOT_AN_ANSWER = "发生时间还没记下，说个大概就行，比如“昨天晚上”“有一个星期了”；记不清也可以直接说“记不清”。"
ANONYMOUS_NOTED = "好的，这次就匿名反映，不留电话，进展会在这里告诉您。"
_PLACE_NOTED = "好的，地点记下了：{place}。"
CHOOSE_AGAIN = "分类还需要您选一下。"


def place_noted(place: str) -> str:
    """The place said back, masked as the read-back masks it (a phone typed into it)."""
    return _PLACE_NOTED.format(place=mask_text(place))


def choose_between(first: str, second: str) -> str:
    return f"您是想反映“{first}”方面的问题，还是“{second}”方面的问题？"


NOTHING_TO_CANCEL = "好的，现在没有正在登记的事项，什么都不会提交。以后有需要，随时找我。"


def matter_changed(matter: str) -> str:
    return f"明白了，事项改成“{short(matter, 40)}”。"


def case_kept(number: str, summary: str | None, *, just_filed: bool) -> str:
    """Giving up with no report being taken: nothing is filed, and how to withdraw their case."""
    which = "您刚才登记的" if just_filed else "您之前提交的"
    return (f"好的，现在没有正在登记的事项，不会再提交什么。{which}编号 {number}（{short(summary)}）"
            "还在办理中；如果这件事也不需要办了，回复“撤回”，我帮您撤回。")


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


# ---------------------------------------------------------------- answered before anything else
HANDOFF_BUTTON = [{"title": "转人工", "payload": "/human_handoff"}]
CRISIS_SUMMARY = "紧急求助：请尽快联系群众"
STILL_PENDING = {
    "confirm_report": "您刚才要登记的事项还没有提交，等您方便时回复“确认”就能提交。",
    "confirm_withdraw": "撤回的事还等您确认，方便时回复“确定撤回”或“不撤回”。",
}
ONLY_MANDARIN = ("抱歉，我目前只能用普通话（简体中文）交流，粤语和繁体字我还看不太准。麻烦您用普通话再说一遍遇到了什么问题；"
                 "也可以点“转人工”，代理员会看到您刚才说的话，再联系您。紧急情况请直接拨打110、119或120。")
ONLY_MANDARIN_EN = (
    "Sorry, I can only help in Mandarin Chinese (普通话 / 简体中文) for now. Please write to me in "
    "Chinese, or tap “转人工” and an agent will read what you wrote and contact you. In an "
    "emergency call 110 (police), 119 (fire) or 120 (ambulance).\n"
    "抱歉，我目前只能用普通话（简体中文）为您服务。请用中文告诉我遇到的问题；也可以点“转人工”，代理员会看到您刚才的话并联系您。")


def crisis(hotline: str, number: str | None) -> str:
    text = ("听到您这么说，我很担心您。您愿意说出来，我们就一定陪您一起想办法。\n"
            f"如果您现在有伤害自己的念头，请马上拨打心理援助热线 {hotline}，有专业的人陪您聊；"
            "情况危急请拨打 120 或 110。\n")
    if number:
        text += f"我已经为您登记了紧急求助（编号 {number}），代理员会尽快联系您；您说的其他难处，我们也会一起帮您跟进。\n"
    else:
        text += "我这边登记暂时没有成功，请点“转人工”或稍后再跟我说一次，我们一定找人联系您。\n"
    return text + "要不要现在就转给人工代理员，跟您聊聊？"


def crisis_note(hotline: str, reason: str) -> str:
    why = f"（{reason}）" if reason else ""
    return (f"【紧急·心理危机】群众在对话中流露轻生或自伤念头{why}，已告知心理援助热线{hotline}。"
            "请立即通过本渠道或电话联系群众，必要时报警或联系120。")


def threat(number: str | None) -> str:
    recorded = (f"已记录在案（编号 {number}），并提请督办人员关注。" if number else "")
    return ("请您先冷静一下。您说的话涉及他人的人身安全，我们不能当作普通诉求处理，" + recorded +
            "\n如果有人正面临危险，请立即拨打 110。"
            "\n您遇到的困难和不满，可以跟我具体说说，我们会依法依规帮您反映、跟进。")


def threat_note(reason: str) -> str:
    why = f"（{reason}）" if reason else ""
    return ("【提请督办关注】群众在对话中扬言对他人或机关实施暴力" + why +
            "，已告知110。请督办人员研判处置，必要时报警。")


def consent_again(pending: str | None) -> tuple[str, list[dict]]:
    """An emoji where a yes or no was asked: ask again in words, with the same buttons."""
    head = "不好意思，我不能确定这个表情的意思。"
    if pending == "confirm_report":
        return (head + "登记内容没问题的话，请回复“确认”或点下面的按钮；要修改哪一项，直接告诉我就行。",
                [{"title": "确认登记", "payload": "/affirm"}, {"title": "我要修改", "payload": "/correct"}])
    if pending == "confirm_withdraw":
        return (head + "确定要撤回，请点“确定撤回”；不撤回请点“不撤回”。",
                [{"title": "确定撤回", "payload": "/affirm"}, {"title": "不撤回", "payload": "/deny"}])
    if pending == "offer_errand":
        return (head + "需要代办请点“帮我代办”，不需要请点“不用了”。",
                [{"title": "帮我代办", "payload": "/affirm"}, {"title": "不用了", "payload": "/deny"}])
    return head + "需要转人工的话，请点“转人工”或直接说“转人工”；有问题要反映，直接用文字告诉我就行。", HANDOFF_BUTTON


# ---------------------------------------------------------------- answers that are refused
FIELD_LABELS = {"description": "事项描述", "place": "地点", "event_time": "时间",
                "contact_name": "姓名", "contact": "联系电话"}
_FIELD_HINTS = {"description": "分几次说，或者只说最要紧的情况",
                "place": "说个小区名、村组或路名门牌", "event_time": "说个大概的日子或时段",
                "contact_name": "只说姓氏就行，比如“王先生”"}
PHONE_KEPT_AS_CONTACT = "这个是电话号码吧？我已经把它记作您的联系电话了。"
PHONE_NOT_AN_ANSWER = "这个看起来是电话号码，不像是我刚才问的内容。"
# The case store's own words name no field ("内容过长（超过200字）"): these English heads do.
_STORE_FIELDS = (("place", "地点"), ("summary", "事项摘要"), ("text", "事项描述"),
                 ("name", "姓名"), ("malformed phone", "联系电话"))


def too_long(field: str, length: int, limit: int) -> str:
    label = FIELD_LABELS.get(field, field)
    hint = _FIELD_HINTS.get(field)
    return (f"{label}写得太长了（{length}字，最多{limit}字），这一项我先没有记上。"
            f"请精简一下再告诉我{'，比如' + hint if hint else ''}。")


def case_error(exc) -> str:
    """The case store's refusal, with the field it is about."""
    english = str(exc.args[0]) if exc.args else ""
    for head, label in _STORE_FIELDS:
        if english.startswith(head):
            return f"{label}{exc.zh}"
    return exc.zh
# A correction of another field said while one question is asked ("电话不对，是139…").
FIELD_CORRECTED = "好的，{field}已经改成“{value}”了。"
FIELD_AGAIN = "好的，{field}我再重新问您一下。"


def other_matters(labels: str) -> str:
    """After the read-back of a report that lists several matters: the others, named."""
    return (f"\n\n另外，您的留言里好像还提到了：{labels}。这次先登记上面这件事；"
            "如果那些是另外的问题，登记完后再告诉我，我帮您分别登记。")
