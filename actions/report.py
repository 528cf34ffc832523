"""Taking a report: capture what was said, fill the form, read back, correct, open the case."""
from __future__ import annotations

import functools
import logging
import re
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime, texts
from actions.contact import find_phone, only_a_phone, others_numbers
from actions.conversation import (MAX_KEEP, clean, entity, has_chinese, idempotency_key,
                                  informative, latest_intent, latest_text, message_key, ranking,
                                  sender)
from actions.intercept import intercepted
from actions.excerpt import conversation_excerpt
from bot.cases import CaseError, OpenCase
from bot.cases.messages import deadline_label
from bot.cases.validation import MAX_SHORT
from bot.nlu.matters import listed, matters_among, mention
from bot.nlu.places import find_area
from bot.nlu.rasa import HttpParser, ParserError, RasaClassifier
from bot.nlu.urgency import detect_urgency, mentions_emergency

log = logging.getLogger(__name__)

EMERGENCY = "security.emergency"
# Ask "您是想反映A还是B?" when the best category is this unsure and the runner-up this close.
CLARIFY_BELOW = 0.5
CLARIFY_RUNNER_UP = 0.2
CONTEXT_KINDS_WITHOUT_TIME = ("errand", "petition", "consult")
REPORT_SLOTS = ("report_text", "category", "category_options", "kind", "area", "report_key",
                "errand", "report_route", "pending", "description", "place", "event_time",
                "requested_slot")
FIELD_WORDS = (
    ("contact", re.compile(r"电话|手机|号码|联系方式|联系人")),
    ("place", re.compile(r"地址|地点|位置|门牌|楼号|单元|小区|村|组|路")),
    ("event_time", re.compile(r"时间|日期|哪天|几点")),
    ("category", re.compile(r"分类|类别|类型|部门|分错")),
    ("description", re.compile(r"内容|描述|事项|问题|说的事")),
)
_NEW_VALUE = re.compile(r"(?:改成|改为|换成|应该是|更正为|其实是|正确的是|是在|在|[，,。：:]是)[：:\s]*(.+)$")
_REFUSAL = re.compile(r"不留|不想留|不方便|不用|不要|匿名|保密|不告诉|算了")
_PLACE_LEAD = re.compile(r"^(?:就|是)?在|^(?:地址|地点|位置)(?:是|在)?[：:]?")
_YES_NO = re.compile(r"(?:对|是|好|嗯|行|可以|没错|不对|不是|没有|确认)(?:的|啊|呀|了|吧)?[。！!.]*")
# "匿名", "我要匿名反映", "不留电话": the wish to stay anonymous, whichever question was asked
_ANONYMITY = re.compile(r"(?:我|俺)?(?:要|想|希望|就)?(?:匿名|不留(?:电话|手机|号码|名字)?)(?:反映|举报|投诉|吧|就行|就好|的)?"
                        r"[。！!.~～\s]*")
# "6栋", "3单元", "2号楼", "5栋2单元": a building or a unit, the detail of the place
_BUILDING = re.compile(r"(?:(?:第)?[0-9０-９一二三四五六七八九十两零]{1,4}\s*(?:栋|幢|座|号楼|单元|号院|楼|层|室|户))+"
                       r"[。.！!\s]*")
# "第一个", "后面那个": one of the offered categories picked by its position
_PICKS = (re.compile(r"第一|头一|前一|前面|前者|上面"), re.compile(r"第二|后一|后面|后者|下面"),
          re.compile(r"第三"))
_PLACE_WORDS = re.compile(r"路|街|巷|号|小区|村|社区|栋|单元|楼|门口|广场|公园|市场")
_UNKNOWN_TIME = re.compile(r"不记得|记不清|不知道|不清楚|忘了")
_CORRECTION = re.compile(r"^(?:不对|错了|不是|等一下|等等)?[，,。\s]*(?:地址|地点|位置|时间|日期|电话|手机|号码|"
                         r"联系方式|事项|内容|问题|描述|分类)(?:也)?(?:不对|错了|写错了|有误|弄错了|要改|改一下|改成|改为|应该是)")
# "不对，我说错了，" before the right version of what was said
_SLIP = (r"^(?:(?:不对|不好意思|等一下|等等|哦|噢|(?:我|俺)?(?:刚才)?(?:说|讲|搞|弄|打)错了|错了)"
         r"[了啊呀吧]?[，,。！!\s]*)*")
# "不是文化路社区，是幸福小区3栋" at the read-back: the value it negates says which field changes.
_NOT_X_BUT_Y = re.compile(_SLIP + r"(?:这)?不是(?P<old>[^，,。；;\s]{2,30}?)[，,。；;\s]*"
                          r"(?:而)?(?:是|应该是|在)[：:\s]*(?P<new>.+)$", re.S)
# "我说错了，是下水道堵了" while the place or the phone is asked: said again, right this time.
_SAID_AGAIN = re.compile(r"^(?:(?:不对|等一下|等等|哦|噢)[，,。！!\s]*)*(?:我|俺)?(?:刚才)?(?:说|讲|搞|弄)错了"
                         r"[了啊呀吧]?[，,。！!\s]*(?:应该是|其实是|是)[：:\s]*(?P<new>.+)$", re.S)
# "事项改成……", "地点改成……": the field named first is the one that changes.
_NAMED_CHANGE = re.compile(
    r"^(?:把|帮我把)?(?P<name>事项|问题|内容|描述|事情|地址|地点|位置|时间|日期|联系电话|电话号码|电话|"
    r"手机号码|手机号|手机|联系方式|分类|类别|类型)(?:也)?(?:要|帮我)?"
    r"(?:改成|改为|换成|更正为|应该是)[：:\s]*(?P<value>.+)$", re.S)
_NAMED_FIELD = {"事项": "description", "问题": "description", "内容": "description",
                "描述": "description", "事情": "description", "地址": "place", "地点": "place",
                "位置": "place", "时间": "event_time", "日期": "event_time", "分类": "category",
                "类别": "category", "类型": "category"}
# "分类不对，这是供电的问题": the complaint about the category, and the part it negates.
_CATEGORY_COMPLAINT = re.compile(r"(?:分类|类别|类型|部门)(?:也)?(?:不对|错了|选错了|分错了|有误|弄错了|要改|改一下|"
                                 r"应该是|改成|改为)?|分错类了|分错了|选错了|搞错了|弄错了|不对|这是|应该是|应该归|归到|属于")
_NEGATED_PART = re.compile(r"(?:这|这个)?不是[^，,。；;]*?(?=[，,。；;]|而是|应该是|是|$)")
CORRECTABLE = ("place", "event_time", "contact_name", "description")
# "电话不对，是139…" said while another question is asked: which field it corrects, and the new
# value when one was said ("地点不对" alone clears the place, so the form asks it again).
_OTHER_FIELD = re.compile(
    r"^(?:不对|错了|不是|等一下|等等|刚才|哦|噢)?[，,。！!\s]*(?:我的|您记的|你记的)?"
    r"(?P<name>地址|地点|位置|时间|日期|联系电话|电话号码|电话|手机号码|手机号|手机|号码|联系方式)"
    r"(?:也|好像|刚才)?(?:不对|错了|写错了|说错了|记错了|有误|弄错了|要改一下|要改|改一下|改成|改为|换成|应该是)"
    r"[了啊呀吧]?[，,。！!：:\s]*(?:是|应该是|改成|改为|换成|改|在)?[：:\s]*(?P<value>.*)$", re.S)
_FIELD_OF = {"地址": "place", "地点": "place", "位置": "place", "时间": "event_time",
             "日期": "event_time"}
# Giving up the report ("算了不报了"): nothing is filed, nothing is asked which to change. Not
# what someone else said ("物业说不办了").
GIVE_UP = re.compile(r"(?<![说讲])(?:不|甭|莫|别)(?:想|用|要|再)?(?:报|反映|反应|登记|投诉|举报|提交|办|弄|整)了|"
                     r"不(?:用|要)(?:登记|提交|报)|别(?:登记|提交|报)|取消登记|^(?:那|那就|要不)?算了(?:吧)?[。！!~～\s]*$")
_NEVER_MIND = re.compile(r"(?:那|那就|要不)?算了(?:吧)?[。！!~～\s]*")
_CONTACT_WORDS = re.compile(r"电话|手机|号码|联系方式|姓名|名字")
FORM_SLOTS = ("description", "place", "event_time", "contact")
# The longest answer each field takes (the case store's limits: a place is a short field; the
# time is folded into the case text, which takes 5,000 characters with the description).
FIELD_LIMITS = {"description": MAX_KEEP, "place": MAX_SHORT, "event_time": 100,
                "contact_name": 50}


def too_long(field: str, value: str | None, dispatcher: CollectingDispatcher) -> bool:
    """Refuse an answer longer than its field takes, naming the field, instead of cutting it."""
    limit = FIELD_LIMITS.get(field)
    if limit is None or len(value or "") <= limit:
        return False
    dispatcher.utter_message(text=texts.too_long(field, len(value or ""), limit))
    return True


def gives_up(said: str | None, asked: str | None) -> bool:
    """Whether an answer to the form's question gives up the report ("算了不报了"); not "电话
    就不留了", nor a bare "算了" when the phone is asked (that declines the phone)."""
    said = (said or "").strip()
    if len(said) > 20 or not GIVE_UP.search(said) or _CONTACT_WORDS.search(said):
        return False       # a longer answer tells something ("物业说不办了，都一个月了")
    return asked != "contact" or not _NEVER_MIND.fullmatch(said)


def negated_field(slots: dict[str, Any], text: str) -> tuple[str, str] | None:
    """(field, new value) when the text negates a value of the read-back: "不是X，是Y"."""
    said = _NOT_X_BUT_Y.search(text or "")
    if not said:
        return None
    old, new = said.group("old"), said.group("new").strip()
    held = {**slots, "description": slots.get("description") or slots.get("report_text")}
    field = next((name for name in CORRECTABLE if old in str(held.get(name) or "")), None)
    return (field, new) if field and new else None


def new_matter(slots: dict[str, Any], said: str | None, tracker: Tracker) -> str | None:
    """The matter said instead of the one being reported, while the form asks another question:
    "不对，不是路灯，是下水道堵了" (路灯 is in the report), or "我说错了，是下水道堵了" when that
    reads as a report of its own (not "我说错了，是文化路30号")."""
    said = (said or "").strip()
    negated = negated_field(slots, said)
    if negated:
        return negated[1] if negated[0] == "description" else None
    again = _SAID_AGAIN.match(said)
    if not again or not informative(again.group("new")):
        return None
    intent, _, _ = read_said(again.group("new"), tracker)
    return again.group("new").strip() if intent == "report" else None


def matter_slots(text: str, tracker: Tracker) -> dict[str, Any]:
    """The slots of a new matter: its text, and its category read from that text alone."""
    _, ranked, _ = read_said(text, tracker)
    code = ranked[0][0] if ranked else "other.misc"
    slots = {"description": text, "report_text": text, **category_slots(code),
             "category_options": [c for c, _ in ranked[:3]]}
    area = None if tracker.get_slot("place") else find_area(runtime.container().catalog, text)
    if area:
        slots["area"] = area
    return slots


def category_slots(code: str) -> dict[str, Any]:
    service = runtime.service_catalog().for_category(code)
    return {"category": code, "kind": runtime.container().catalog.categories[code].kind,
            "errand": service.id if service else None}


def read_said(text: str, tracker: Tracker) -> tuple[str, list[tuple[str, float]], str | None]:
    """(intent, categories best first, the first level its first-level head named) of `text`
    alone, read by the running server's model as a report is read when it comes in; when the
    server cannot be asked, what the NLU made of the whole latest message."""
    services = runtime.container()
    try:
        (parsed,) = _parser(services.settings.rasa_url).parse([text])
    except ParserError as exc:
        log.warning("a part of a message not read on its own (Rasa unavailable: %s)", exc)
        return latest_intent(tracker), classified(tracker), None
    ranked = [(item["code"], float(item["confidence"])) for item in parsed["report_ranking"]
              if item["code"] in services.catalog.categories]
    return (parsed.get("intent") or {}).get("name") or "", ranked, parsed.get("report_level1")


def named_categories(text: str) -> list[str]:
    """The categories a correction of the category names ("这是供电的问题", "应该是停电"), leaving
    out what it negates ("不是物业的事"): by their name first, else by their keywords."""
    catalog = runtime.container().catalog
    said = _NEGATED_PART.sub("", text or "")
    by_name = [code for code, c in catalog.categories.items()
               if c.level2 in said and code != "other.misc"]
    if by_name:
        return by_name
    scores = {code: sum(len(k) for k in c.keywords if len(k) >= 2 and k in said)
              for code, c in catalog.categories.items() if code != "other.misc"}
    return sorted((code for code, score in scores.items() if score), key=lambda c: -scores[c])


def category_label(code: str | None) -> str | None:
    catalog = runtime.container().catalog
    return catalog.categories[code].label if code in catalog.categories else None


def reset_report() -> list[EventType]:
    return [SlotSet(name, None) for name in REPORT_SLOTS]


def read_back_text(slots: dict[str, Any]) -> str:
    return texts.read_back(slots.get("description") or slots.get("report_text") or "",
                           category_label(slots.get("category")), slots.get("place"),
                           slots.get("event_time"), slots.get("contact"),
                           slots.get("contact_name"))


def other_matters_in(text: str, category: str | None) -> str | None:
    """"低保申请、噪声扰民": the other matters a report lists beside its category, read by the
    running Rasa server's model; None when there are none or the server cannot be asked (the
    read-back goes on without it)."""
    found = listed(text) if category else []
    if not found:
        return None
    services = runtime.container()

    def classify(pieces: list[str]) -> list[tuple[str, float]]:
        ranked = RasaClassifier(services.catalog, _parser(services.settings.rasa_url)).classify(pieces)
        return [(c.code, c.confidence) for c in ranked]

    try:
        codes = matters_among(found, category, classify, services.catalog)
    except ParserError as exc:
        log.warning("other matters not read (Rasa unavailable: %s)", exc)
        return None
    return mention(codes, services.catalog) if codes else None


@functools.lru_cache(maxsize=2)
def _parser(rasa_url: str) -> HttpParser:
    """One client (and its kept-alive connection) per Rasa server for the action server's life."""
    return HttpParser(rasa_url, timeout=5.0)


def classified(tracker: Tracker) -> list[tuple[str, float]]:
    return ranking(tracker, set(runtime.container().catalog.categories))


def category_events(code: str, options: list[str]) -> list[EventType]:
    kind = runtime.container().catalog.categories[code].kind
    return [SlotSet("category", code), SlotSet("category_options", options), SlotSet("kind", kind)]


class ActionCaptureReport(Action):
    """A new problem: keep the text, pick the category, decide the route (form/emergency/clarify)."""

    def name(self) -> str:
        return "action_capture_report"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict) -> list[EventType]:
        text = latest_text(tracker)
        if tracker.get_slot("pending") == "confirm_report" and (
                _CORRECTION.search(text) or _NAMED_CHANGE.match(text)
                or negated_field(tracker.current_slot_values(), text)):
            # "地址不对，应该是……" read as a new report: it corrects the one being confirmed.
            return ActionCorrectReport().run(dispatcher, tracker, domain) + [
                FollowupAction("action_listen")]
        earlier = tracker.get_slot("report_text")
        if tracker.get_slot("report_route") == "clarify" and picked_option(
                text, tracker.get_slot("category_options") or []):
            # "市政设施" read as a report of its own: it picks one of the offered categories
            return ActionChooseCategory().run(dispatcher, tracker, domain)
        if tracker.get_slot("report_route") == "clarify" and earlier:
            text = f"{earlier}；{text}" if text else earlier
        ranked = classified(tracker)
        urgency = detect_urgency(text)
        if not urgency.is_emergency and (urgency.level != "normal" or mentions_emergency(text)):
            # The rules read the emergency words (feared, negated, past, a hazard): the model's
            # "emergency" must not send "万一着火了怎么跑" to 119.
            ranked = [(code, confidence) for code, confidence in ranked if code != EMERGENCY]
        options = [code for code, _ in ranked[:3]]
        events: list[EventType] = [SlotSet("report_text", text or None),
                                   SlotSet("report_key", message_key(tracker)),
                                   SlotSet("pending", None)]
        phone, _ = find_phone(text, own=True)
        contact = tracker.get_slot("contact")
        if contact and contact in others_numbers(text):
            # "老板电话139…": the entity put the shop's number in the contact; it is not the
            # resident's (it stays in the text), and the phone question will still be asked.
            contact = slot_before_turn(tracker, "contact")
            events.append(SlotSet("contact", contact))
        if phone and contact in (None, phone):
            events.append(SlotSet("contact", phone))      # "我电话139…，楼下很吵"
        if urgency.is_emergency or (ranked and ranked[0][0] == EMERGENCY
                                    and ranked[0][1] >= CLARIFY_BELOW):
            return events + category_events(EMERGENCY, options) + [
                SlotSet("report_route", "emergency")]
        if not informative(text) or not ranked:
            # "我要投诉": ask what it is about; the form classifies the description.
            return events + [SlotSet("description", None), SlotSet("report_route", "describe")]
        (best, confidence), runner_up = ranked[0], ranked[1] if len(ranked) > 1 else None
        if confidence < CLARIFY_BELOW and runner_up and runner_up[1] >= CLARIFY_RUNNER_UP \
                and tracker.get_slot("report_route") != "clarify":
            ask_choice(dispatcher, options)
            return events + [SlotSet("category_options", options),
                             SlotSet("report_route", "clarify")]
        # Say what was understood; the form that follows asks only for what is missing.
        say_understood(dispatcher, best)
        events += category_events(best, options) + errand_events(best)
        events += [SlotSet("description", text), SlotSet("report_route", "form")]
        area = find_area(runtime.container().catalog, text)
        if area:
            events.append(SlotSet("area", area))
        return events


def change_matter(matter: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """The report becomes `matter` (its category read anew); said back with that category."""
    if too_long("description", matter, dispatcher):
        return []
    slots = matter_slots(matter, tracker)
    dispatcher.utter_message(text=texts.matter_changed(matter))
    say_understood(dispatcher, slots["category"])
    return [SlotSet(name, value) for name, value in slots.items()]


def say_understood(dispatcher: CollectingDispatcher, code: str) -> None:
    category = runtime.container().catalog.categories[code]
    dispatcher.utter_message(text=texts.understood(category, runtime.service_catalog().for_category(code)))


def errand_events(code: str) -> list[EventType]:
    service = runtime.service_catalog().for_category(code)
    return [SlotSet("errand", service.id)] if service else []


def ask_choice(dispatcher: CollectingDispatcher, options: list[str]) -> None:
    """"您是想反映A还是B？" with a button for each offered category."""
    dispatcher.utter_message(
        text=texts.choose_between(category_label(options[0]), category_label(options[1])),
        buttons=[{"title": category_label(code), "payload": f'/inform{{"category": "{code}"}}'}
                 for code in options])


def picked_option(said: str, options: list[str]) -> str | None:
    """The offered category an answer picks: named ("市政设施") or by position ("后面那个")."""
    categories = runtime.container().catalog.categories
    offered = [code for code in options if code in categories]
    named = [code for code in offered if categories[code].level2 in said]
    if len(named) == 1:
        return named[0]
    if len(said) <= 8:
        picks = [offered[i] for i, pick in enumerate(_PICKS) if i < len(offered) and pick.search(said)]
        if len(picks) == 1:
            return picks[0]
    return None


def place_in_choice(said: str, tracker: Tracker) -> str | None:
    """The place an answer to "A还是B？" tells instead of a choice ("建设路3号"), if it reads as one."""
    catalog = runtime.container().catalog
    place = tracker.get_slot("place")
    if place and place in said:
        return place           # the address or community entity, mapped this turn
    said = _PLACE_LEAD.sub("", said).strip(" 。.！!")
    if has_chinese(said) and len(said) <= MAX_SHORT and (
            _PLACE_WORDS.search(said) or find_area(catalog, said)):
        return said
    return None


class ActionChooseCategory(Action):
    """The resident picked one of the offered categories (a button, or said it again). An answer
    that picks none is no choice: a place it tells is kept, and the choice is asked again."""

    def name(self) -> str:
        return "action_choose_category"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        catalog = runtime.container().catalog
        options = tracker.get_slot("category_options") or []
        said = latest_text(tracker, None) or ""
        code = tracker.get_slot("category")
        if code not in catalog.categories:
            code = picked_option(said, options)
        if code is None and len([c for c in options if c in catalog.categories]) >= 2:
            events: list[EventType] = []
            place = place_in_choice(said, tracker)
            if place:
                events += [SlotSet("place", place), SlotSet("area", find_area(catalog, place))]
                dispatcher.utter_message(text=texts.place_noted(place))
            else:
                events.append(SlotSet("place", slot_before_turn(tracker, "place")))
                dispatcher.utter_message(text=texts.CHOOSE_AGAIN)
            ask_choice(dispatcher, options)
            return events + [SlotSet("report_route", "clarify"), FollowupAction("action_listen")]
        code = code or (options[0] if options and options[0] in catalog.categories else "other.misc")
        text = tracker.get_slot("report_text")
        events = category_events(code, options) + [
            SlotSet("description", text if informative(text) else None),
            SlotSet("report_route", "form")]
        area = find_area(catalog, text)
        if area:
            events.append(SlotSet("area", area))
        say_understood(dispatcher, code)
        return events + errand_events(code)


class ValidateReportForm(FormValidationAction):
    """Ask only for what is missing; accept what residents really answer."""

    def name(self) -> str:
        return "validate_report_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        if tracker.get_slot("kind") in CONTEXT_KINDS_WITHOUT_TIME:
            return [slot for slot in domain_slots if slot != "event_time"]
        return domain_slots

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if intercepted(tracker):
            # The message was a fire, a crisis, a threat ... and has been answered: none of it
            # is an answer to the form's question, which is asked again.
            return undo_turn(tracker)
        said = latest_text(tracker, None)
        if tracker.get_slot("requested_slot") in ("place", "event_time", "contact"):
            if gives_up(said, tracker.get_slot("requested_slot")):
                # "算了不报了" read as an answer: the form stops, nothing is filed
                return ActionCancelReport().run(dispatcher, tracker, domain) + [
                    ActiveLoop(None), SlotSet("requested_slot", None),
                    FollowupAction("action_listen")]
            # what the message itself set (the place it was taken for) is not what it negates
            before = {**tracker.current_slot_values(),
                      **{name: slot_before_turn(tracker, name) for name in tracker.slots_to_validate()}}
            matter = new_matter(before, said, tracker)
            if matter:
                # "不对，不是路灯，是下水道堵了": the matter changes, the question is asked again
                return undo_turn(tracker) + change_matter(matter, dispatcher, tracker)
        if tracker.get_slot("requested_slot") in ("description", "place", "event_time") and (
                wants_anonymity(said, tracker)):
            # "匿名" when the time is asked: no phone is asked later, nothing is taken as the time
            dispatcher.utter_message(text=texts.ANONYMOUS_NOTED)
            return undo_turn(tracker) + [SlotSet("contact", texts.ANONYMOUS)]
        return await super().run(dispatcher, tracker, domain)

    def validate_description(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        whole = clean(value, None)
        if too_long("description", whole, dispatcher):
            return {"description": None}
        text = whole
        if not informative(text):
            dispatcher.utter_message(text=texts.TOO_SHORT)
            return {"description": None}
        slots: dict[str, Any] = {"description": text,
                                 "report_text": tracker.get_slot("report_text") or text}
        if not tracker.get_slot("category"):
            ranked = classified(tracker)
            code = ranked[0][0] if ranked else "other.misc"
            kind = runtime.container().catalog.categories[code].kind
            slots.update(category=code, category_options=[c for c, _ in ranked[:3]], kind=kind)
            say_understood(dispatcher, code)
        area = find_area(runtime.container().catalog, text)
        if area and not tracker.get_slot("area"):
            slots["area"] = area
        phone, _ = find_phone(text, own=True)
        if phone and not tracker.get_slot("contact"):
            slots["contact"] = phone
        return slots

    def validate_place(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        # The answer to "在什么地方？" is kept whole: "城关镇幸福里小区南门", not the community
        # entity "幸福里小区" found inside it.
        place, early = _whole_answer("place", value, dispatcher, tracker,
                                     whole=lambda said: _PLACE_LEAD.sub("", said))
        if early is not None:
            return early
        if len(place) < 2 or not has_chinese(place) or _YES_NO.fullmatch(place):
            dispatcher.utter_message(text=texts.PLACE_TOO_SHORT)
            return {"place": None}
        slots: dict[str, Any] = {"place": place}
        area = find_area(runtime.container().catalog, place)
        if area:
            slots["area"] = area
        return slots

    def validate_event_time(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        # "今年八月到十月", not the entity "十月" inside it
        when, early = _whole_answer("event_time", value, dispatcher, tracker)
        if early is not None:
            return early
        if _YES_NO.fullmatch(when or ""):
            dispatcher.utter_message(text=texts.TIME_NOT_AN_ANSWER)    # "确认" is no time
            return {"event_time": None}
        if not when or _UNKNOWN_TIME.search(when):
            when = "记不清了"
        return {"event_time": when}

    def extract_place(self, dispatcher, tracker, domain) -> dict[str, Any]:
        """Asked for the place, "6栋" or "3单元" is the answer, whatever intent the NLU gave it
        (read as chitchat it got the self-introduction and the question again)."""
        said = (latest_text(tracker, None) or "").strip()
        if tracker.get_slot("requested_slot") != "place" or not _BUILDING.fullmatch(said):
            return {}
        return {"place": said.strip(" 。.！!")}

    def extract_contact(self, dispatcher, tracker, domain) -> dict[str, Any]:
        """Asked for the phone, an answer holding a phone-like number is the answer, whatever
        intent the NLU gave it ("0371-6666 8888" read as goodbye got "再见" and the question
        again)."""
        said = latest_text(tracker, None)
        if tracker.get_slot("requested_slot") != "contact" or not said \
                or latest_intent(tracker) == "anonymous" or other_field_fix(said, "contact"):
            return {}
        phone, problem = find_phone(said)
        return {"contact": said} if phone or problem else {}

    def validate_contact(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        value = str(value or "").strip()
        said = latest_text(tracker, None)
        asked = tracker.get_slot("requested_slot") == "contact"
        if asked and other_field_fix(said, "contact"):
            return correct_other_field("contact", said, dispatcher, tracker)
        if value == texts.ANONYMOUS or latest_intent(tracker) == "anonymous":
            return {"contact": texts.ANONYMOUS}
        phone, problem = find_phone(value)
        if phone and not asked and phone in others_numbers(said):
            # "老板电话139…" while telling the problem: the shop's number, not the resident's
            return {"contact": slot_before_turn(tracker, "contact")}
        if phone:
            return {"contact": phone}
        if problem:       # 12 or 16 digits: refused with the reason, never cut to 11
            dispatcher.utter_message(text=problem)
            return {"contact": None}
        if _REFUSAL.search(value):
            return {"contact": texts.ANONYMOUS}
        has_digits = any(ch.isdigit() for ch in value)
        dispatcher.utter_message(text=texts.INVALID_PHONE if has_digits else texts.PHONE_PLEASE)
        return {"contact": None}


def _whole_answer(field: str, value, dispatcher, tracker, *,
                  whole=lambda said: said) -> tuple[str, dict[str, Any] | None]:
    """The slot's value as the resident answered the question: their whole answer (through
    `whole`) when the extracted value sits inside it. Second item: the slots to return at once
    instead (a phone number given as the answer, or an answer too long)."""
    extracted = clean(value, None)
    said = latest_text(tracker, None)
    asked = tracker.get_slot("requested_slot") == field
    if asked and other_field_fix(said, field):
        return "", correct_other_field(field, said, dispatcher, tracker)
    if asked and only_a_phone(said):
        return "", phone_not_an_answer(field, said, dispatcher, tracker)
    answer = (whole(said) or extracted) if asked and extracted and extracted in said else extracted
    if too_long(field, answer, dispatcher):
        return "", {field: None}
    return answer, None


def wants_anonymity(said: str | None, tracker: Tracker) -> bool:
    """Whether an answer says only that the resident wants to stay anonymous ("匿名")."""
    said = (said or "").strip()
    return bool(_ANONYMITY.fullmatch(said)) or (
        latest_intent(tracker) == "anonymous" and not informative(said))


def phone_not_an_answer(field: str, said: str, dispatcher, tracker) -> dict[str, Any]:
    """A phone number given when the time or the place was asked: not stored as the time or
    the place; it becomes the contact when there is none, and the question is asked again."""
    phone, problem = find_phone(said)
    slots: dict[str, Any] = {field: None}
    if phone and tracker.get_slot("contact") in (None, texts.ANONYMOUS, phone):
        slots["contact"] = phone
        dispatcher.utter_message(text=texts.PHONE_KEPT_AS_CONTACT)
    elif phone:
        dispatcher.utter_message(text=texts.PHONE_NOT_AN_ANSWER)
    else:
        dispatcher.utter_message(text=problem or texts.PHONE_NOT_AN_ANSWER)
    return slots


def other_field_fix(said: str | None, asked: str) -> tuple[str, str] | None:
    """(field, new value or "") when the answer to the question for `asked` corrects another
    field instead: "电话不对，是13912345679" at the time question."""
    found = _OTHER_FIELD.match((said or "").strip())
    if not found:
        return None
    field = _FIELD_OF.get(found.group("name"), "contact")
    return (field, found.group("value").strip(" 。.！!")) if field != asked else None


def correct_other_field(asked: str, said: str, dispatcher, tracker) -> dict[str, Any]:
    """Change the field the resident corrected; the question that was asked is asked again
    (its slot stays empty). A phone number only ever goes to the contact."""
    field, value = other_field_fix(said, asked)
    slots: dict[str, Any] = {asked: None}
    label = texts.FIELD_LABELS[field]
    if field == "contact" or only_a_phone(value):
        phone, problem = find_phone(value)
        if phone:
            slots["contact"] = phone
            dispatcher.utter_message(text=texts.FIELD_CORRECTED.format(
                field=texts.FIELD_LABELS["contact"], value=texts.contact_label(phone)))
        elif field == "contact":
            dispatcher.utter_message(text=problem or texts.INVALID_PHONE)
        else:
            dispatcher.utter_message(text=texts.PHONE_NOT_AN_ANSWER)
        return slots
    if field == "place":
        value = _PLACE_LEAD.sub("", value).strip()
    if too_long(field, value, dispatcher):
        return slots
    if len(value) < 2 or (field == "place" and not has_chinese(value)):
        # "地点不对" with no new place: it is asked again, before the question that was asked
        slots[field] = None
        dispatcher.utter_message(text=texts.FIELD_AGAIN.format(field=label))
        return slots
    slots[field] = value
    if field == "place":
        area = find_area(runtime.container().catalog, value)
        if area:
            slots["area"] = area
    dispatcher.utter_message(text=texts.FIELD_CORRECTED.format(field=label, value=value))
    return slots


def slot_before_turn(tracker: Tracker, name: str) -> Any:
    """The slot's value before the latest user message (what extraction set this turn undone)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == name:
            return event.get("value")
    return None


def undo_turn(tracker: Tracker) -> list[EventType]:
    """Events that put the form's slots back as they were before the latest message."""
    before: dict[str, Any] = {}
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") in FORM_SLOTS:
            before.setdefault(event["name"], event.get("value"))
    changed = [name for name in tracker.slots_to_validate() if name in FORM_SLOTS]
    requested = tracker.get_slot("requested_slot")
    if requested in FORM_SLOTS and requested not in changed:
        changed.append(requested)
    return [SlotSet(name, before.get(name)) for name in changed]


class AskSlot(Action, ABC):
    """The form's question for one slot (action_ask_<slot>)."""

    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    @abstractmethod
    def question(self, tracker: Tracker) -> tuple[str, list[dict]]: ...

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        text, buttons = self.question(tracker)
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


class ActionAskDescription(AskSlot):
    slot = "description"

    def question(self, tracker):
        return texts.ASK_DESCRIPTION, []


class ActionAskPlace(AskSlot):
    slot = "place"

    def question(self, tracker):
        errand = tracker.get_slot("kind") == "errand"
        return (texts.ASK_PLACE_ERRAND if errand else texts.ASK_PLACE), []


class ActionAskEventTime(AskSlot):
    slot = "event_time"

    def question(self, tracker):
        return texts.ASK_EVENT_TIME, []


class ActionAskContact(AskSlot):
    slot = "contact"

    def question(self, tracker):
        return texts.ASK_CONTACT, texts.ASK_CONTACT_BUTTONS


class ActionReadBack(Action):
    """Read the summary back and wait for 确认 or a correction."""

    def name(self) -> str:
        return "action_read_back"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        slots = tracker.current_slot_values()
        said = read_back_text(slots)
        others = other_matters_in(slots.get("report_text") or slots.get("description") or "",
                                  slots.get("category"))
        if others:
            said += texts.other_matters(others)
        dispatcher.utter_message(text=said, buttons=[
            {"title": "确认登记", "payload": "/affirm"},
            {"title": "我要修改", "payload": "/correct"}])
        return [SlotSet("pending", "confirm_report"), SlotSet("report_route", "wait")]


class ActionOpenCase(Action):
    """Open the case through the case service and tell the number, body and deadline."""

    def name(self) -> str:
        return "action_open_case"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        services = runtime.container()
        slots = tracker.current_slot_values()
        channel, address = sender(tracker)
        contact = slots.get("contact")
        description = slots.get("description") or slots.get("report_text") or ""
        text = description
        if slots.get("event_time"):
            text += f"（时间：{slots['event_time']}）"
        request = OpenCase(
            text=text, category=slots.get("category") or "other.misc", area=slots.get("area"),
            kind=slots.get("kind"),
            contact=None if contact in (None, texts.ANONYMOUS) else contact,
            contact_name=None if contact in (None, texts.ANONYMOUS) else slots.get("contact_name"),
            anonymous=contact == texts.ANONYMOUS,
            place=slots.get("place"), summary=description[:60] or None, channel=channel,
            address=address, actor="chat", inline_ack=True, excerpt=conversation_excerpt(tracker),
            idempotency_key=idempotency_key(tracker, slots.get("report_key") or message_key(tracker)))
        try:
            view = services.cases.open_case(request)
        except CaseError as exc:
            dispatcher.utter_message(text=texts.open_failed(texts.case_error(exc)))
            return [SlotSet("pending", "confirm_report"), SlotSet("report_route", "wait")]
        except Exception:  # noqa: BLE001 - the resident gets a polite reply, we keep the slots
            log.exception("opening a case from %s failed", channel)
            dispatcher.utter_message(text=texts.open_failed())
            return [SlotSet("pending", "confirm_report"), SlotSet("report_route", "wait")]
        due = None
        if view.due_at:
            due = deadline_label(services.calendar, datetime.fromisoformat(view.due_at.rstrip("Z")))
        dispatcher.utter_message(text=texts.case_opened(view.number, (view.body or {}).get("name"),
                                                        due, view.kind),
                                 json_message={"case": {"number": view.number,
                                                        "state": view.state}})
        return reset_report() + [SlotSet("case_number", view.number)]


class ActionCorrectReport(Action):
    """Change one field of the read-back summary, or ask which one."""

    def name(self) -> str:
        return "action_correct_report"

    @staticmethod
    def from_entities(tracker: Tracker, text: str, catalog) -> dict[str, Any]:
        updates: dict[str, Any] = {}
        if entity(tracker, "phone"):
            updates["contact"] = entity(tracker, "phone")
        elif find_phone(text, own=True)[0]:
            # a number the entity patterns miss ("0371-6666 8888", "一三八一二三四五六七八")
            updates["contact"] = find_phone(text, own=True)[0]
        place = entity(tracker, "address") or entity(tracker, "community")
        said = _NEW_VALUE.search(text)
        if place:
            # "应该是人民路社区门口" keeps 门口, not just the community entity inside it
            updates["place"] = said.group(1).strip() if said and place in said.group(1) else place
        if entity(tracker, "time"):
            updates["event_time"] = entity(tracker, "time")
        if entity(tracker, "person"):
            updates["contact_name"] = entity(tracker, "person")
        if latest_intent(tracker) == "anonymous":
            updates["contact"] = texts.ANONYMOUS
        chosen = entity(tracker, "category")
        if chosen in catalog.categories:
            updates.update(category=chosen, kind=catalog.categories[chosen].kind)
        return updates

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        catalog = runtime.container().catalog
        slots = dict(tracker.current_slot_values())
        text = latest_text(tracker, None)
        named = _NAMED_CHANGE.match(text or "")
        if GIVE_UP.search(text or "") and not named:
            # "算了不报了" (read as "no") at the read-back: the resident withdraws the report
            return ActionCancelReport().run(dispatcher, tracker, domain) + [
                FollowupAction("action_listen")]
        negated = negated_field(slots, text)
        field = _NAMED_FIELD.get(named.group("name"), "contact") if named else None
        if negated:
            updates = {negated[0]: negated[1]}
        elif field and field != "category":
            # "事项改成……": the field named first changes, whatever places the new value names
            value = named.group("value").strip(" 。.！!")
            refused = field == "contact" and not find_phone(value)[0] and _REFUSAL.search(value)
            updates = {field: texts.ANONYMOUS if refused else value}
        else:
            updates = self.from_entities(tracker, text, catalog)
        said = _NEW_VALUE.search(text)
        field = field or entity(tracker, "field") or next(
            (name for name, words in FIELD_WORDS if words.search(text)), None)
        if not updates and field and field != "category":
            if said and len(said.group(1).strip()) >= 2:
                updates[field] = said.group(1).strip()
        chosen: list[str] = []
        if not updates and field == "category":
            chosen = named_categories(text)      # "分类不对，这是供电的问题"
            if len(chosen) == 1:
                updates = category_slots(chosen[0])
        if "contact" in updates and updates["contact"] != texts.ANONYMOUS:
            phone, problem = find_phone(updates["contact"])
            if phone is None:
                dispatcher.utter_message(text=problem or texts.INVALID_PHONE)
                return [SlotSet("report_route", "wait")]
            updates["contact"] = phone
        for name, value in updates.items():
            if isinstance(value, str) and too_long(name, value, dispatcher):
                return [SlotSet("report_route", "wait")]      # nothing changed, still pending
        if "place" in updates:
            updates["area"] = find_area(catalog, updates["place"])
        if "description" in updates and updates["description"] != slots.get("description"):
            updates.update(matter_slots(updates["description"], tracker))   # read anew
        if updates:
            slots.update(updates)
            dispatcher.utter_message(text="好的，已经改过来了。\n" + read_back_text(slots), buttons=[
                {"title": "确认登记", "payload": "/affirm"},
                {"title": "我要修改", "payload": "/correct"}])
            return [SlotSet(k, v) for k, v in updates.items()] + [
                SlotSet("pending", "confirm_report"), SlotSet("report_route", "wait")]
        if field == "category":
            options = [c for c in chosen or nearest_categories(text, tracker)
                       or slots.get("category_options") or []
                       if c in catalog.categories and c != slots.get("category")] or ["other.misc"]
            dispatcher.utter_message(text="应该是哪一类呢？也可以直接告诉我是什么方面的问题。", buttons=[
                {"title": catalog.categories[c].label, "payload": f'/correct{{"category": "{c}"}}'}
                for c in options[:3]])
            return [SlotSet("report_route", "wait")]
        if field:
            return [SlotSet(field, None), SlotSet("pending", None), SlotSet("report_route", "form")]
        dispatcher.utter_message(text="您要修改哪一项？", buttons=[
            {"title": "事项", "payload": '/correct{"field": "description"}'},
            {"title": "地点", "payload": '/correct{"field": "place"}'},
            {"title": "时间", "payload": '/correct{"field": "event_time"}'},
            {"title": "联系方式", "payload": '/correct{"field": "contact"}'},
            {"title": "分类", "payload": '/correct{"field": "category"}'}])
        return [SlotSet("report_route", "wait")]


def nearest_categories(text: str, tracker: Tracker) -> list[str]:
    """The categories nearest to what a correction of the category says beside the complaint
    ("分类不对，这是环保方面的事"): those of the first level the model reads in it, its likeliest
    first; [] when it says nothing more."""
    said = _CATEGORY_COMPLAINT.sub("", _NEGATED_PART.sub("", text or "")).strip(" ，,。.！!：:")
    if len(re.findall(r"[\u4e00-\u9fff]", said)) < 2:
        return []
    _, ranked, level1 = read_said(said, tracker)
    categories = runtime.container().catalog.categories
    level1 = level1 or (categories[ranked[0][0]].level1 if ranked else None)
    likely = [code for code, _ in ranked] + list(categories)
    return [code for code in dict.fromkeys(likely)
            if categories[code].level1 == level1 and code != "other.misc"]


class ActionCancelReport(Action):
    """The resident gave up on the report before it was opened."""

    def name(self) -> str:
        return "action_cancel_report"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        dispatcher.utter_message(text=texts.REPORT_CANCELLED)
        return reset_report()
