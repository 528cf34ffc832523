"""What residents read on Telegram, and the commands the bot offers."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str          # what the resident types, without the slash
    description: str   # shown by Telegram's command menu (setMyCommands)
    intent: str        # what the dialogue receives (Rasa's "/intent" shortcut)


COMMANDS: tuple[Command, ...] = (
    Command("start", "开始使用：反映问题、办理事项", "/greet"),
    Command("help", "使用帮助", "/help"),
    Command("status", "查询办理进度（可在后面附上编号）", "/ask_status"),
    Command("mycases", "我的诉求", "/my_cases"),
    Command("cancel", "取消正在填写的内容", "/deny"),
)

# Messages without words of their own still reach the dialogue, with the details in metadata.
ATTACHMENT_INTENT = "/add_info"     # a photo or document without a caption
LOCATION_INTENT = "/inform"         # a shared location
SENT_ATTACHMENT = "（发来了一个附件）"   # what a staff member holding the chat reads instead
SENT_LOCATION = "（发来了一个位置）"

BUSY = ("抱歉，系统正忙，您的话我们已经记下了。稍后会自动为您处理并回复，"
        "不用重复发送。")
GAVE_UP = ("非常抱歉，系统一直繁忙，您之前发的消息没能及时处理。请您再发一次，"
           "或拨打服务热线，我们会尽快为您办理。")
EDITED = ("您修改了之前发送的消息。修改后的内容不会自动更新到登记信息里；"
          "如需补充或更正，请直接再发一条新消息告诉我，谢谢。")
UNKNOWN_COMMAND = "抱歉，没有这个指令。您可以直接用文字说明问题，或发送 /help 查看可用的指令。"
VOICE = ("抱歉，目前还无法收听语音消息。请用文字简单说一下遇到的问题、地点和联系方式，"
         "我们马上为您登记。")
UNSUPPORTED = "抱歉，这类消息暂时无法处理。请用文字描述您的问题，也可以发送照片或文件作为材料。"
TOO_BIG = "抱歉，文件太大了（单个文件不能超过 {limit_mb} MB），请压缩后再发，或改发照片。"
FILE_FAILED = "抱歉，文件没有接收成功，请稍后重新发送一次。"
BUTTON_EXPIRED = "这个选项已过期，请直接输入您的回答。"
BUTTON_RECEIVED = "已收到"
CHOSEN = "{text}\n\n（您已选择：{choice}）"
CHOOSE = "请选择："
ERROR = "抱歉，处理您的消息时出了点问题。请稍后再试，或换个说法告诉我。"
CONTACT = "我的电话是 {phone}"


def case_card(case: dict) -> str | None:
    """A case sent by the dialogue as a `custom` payload, as plain text."""
    number = case.get("number")
    if not number:
        return None
    lines = [f"编号 {number}"]
    if case.get("state_label"):
        lines[0] += f"（{case['state_label']}）"
    if case.get("summary"):
        lines.append(f"事项：{case['summary']}")
    body = case.get("body") or {}
    if isinstance(body, dict) and body.get("name"):
        lines.append(f"承办单位：{body['name']}")
    if case.get("due_at"):
        lines.append(f"办结期限：{case['due_at']}")
    return "\n".join(lines)
