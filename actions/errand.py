"""事务代办: answer "办居住证要带什么" from data/services.yml, open an errand case on request."""
from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions import runtime, texts
from actions.conversation import latest_text, message_key, ranking

GENERAL = "gov.service"      # 政务服务: the service center finds out what an unknown errand needs
SURE_CATEGORY = 0.3          # the NLU fallback threshold (config.yml)
UNKNOWN = ("这项事务的办事指南我这里暂时没有。可以让代理员帮您问清楚要带什么、去哪里办，"
           "需要的话还能代为办理。要帮您登记吗？")


class ActionErrandInfo(Action):
    def name(self) -> str:
        return "action_errand_info"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        catalog = runtime.container().catalog
        services = runtime.service_catalog()
        text = latest_text(tracker)
        service = services.find(text)
        best = ranking(tracker, set(catalog.categories))[:1]
        if service is None:
            for code, _ in best:
                service = services.for_category(code)
        buttons = [{"title": "帮我代办", "payload": "/affirm"}, {"title": "不用了", "payload": "/deny"}]
        if service is None:
            # No guide: the errand still goes to the body of what the question is about
            # (转学 → education), and to the service center when the NLU is unsure.
            known = [code for code, confidence in best if confidence >= SURE_CATEGORY]
            dispatcher.utter_message(text=UNKNOWN, buttons=buttons)
            return [SlotSet("errand", None), SlotSet("category", known[0] if known else GENERAL),
                    SlotSet("kind", "errand"), SlotSet("report_text", text or None),
                    SlotSet("pending", "offer_errand")]
        dispatcher.utter_message(text=texts.errand_guide(service), buttons=buttons)
        return [SlotSet("errand", service.id), SlotSet("category", service.category),
                SlotSet("kind", "errand"), SlotSet("report_text", text or None),
                SlotSet("pending", "offer_errand")]


class ActionStartErrand(Action):
    """The resident wants the errand done for them: the form asks where and how to reach them."""

    def name(self) -> str:
        return "action_start_errand"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        service = runtime.service_catalog().services.get(tracker.get_slot("errand") or "")
        what = service.name if service else (tracker.get_slot("report_text") or "事务代办")
        dispatcher.utter_message(text=f"好的，我来帮您登记“{what}”的代办申请。")
        return [SlotSet("description", f"申请代办：{what}"), SlotSet("kind", "errand"),
                SlotSet("report_key", message_key(tracker)), SlotSet("pending", None),
                SlotSet("report_route", "form")]
