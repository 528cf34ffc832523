"""The classifiers beside the safety rules (bot/nlu/safety_model.py): they speak only where the
rules found nothing, and never over a reading the rules made on purpose."""
from __future__ import annotations

import dataclasses

import pytest
import yaml

from bot.nlu.safety_model import CRISIS_LABELS, CrisisModel, crisis_examples, crisis_model, emergency_model
from bot.nlu.urgency import MODEL_REASON, assess, load_rules, normalize, prepare
from bot.settings import ROOT

RULES = load_rules()
RULES_ONLY = dataclasses.replace(RULES, model_dir=None)


def test_the_model_catches_an_emergency_the_rules_miss():
    text = "路边一个骑电动车的被挂倒了 躺着哼哼"
    assert assess(text, RULES_ONLY).level == "normal"
    safety = assess(text, RULES)
    assert safety.level == "emergency" and safety.reason == MODEL_REASON
    assert safety.hotline in {"110", "119", "120", "122"}


def test_the_model_never_overrides_feared_past_or_figurative_readings():
    for text in ("万一有人拿刀砍人怎么办", "上个月楼下着过火，到现在消防通道还堵着", "气得我要爆炸了",
                 "他拿着菜刀在厨房切菜", "楼下烧烤店半夜还很吵"):
        assert assess(text, RULES).level == assess(text, RULES_ONLY).level, text


def test_the_model_never_reads_a_text_that_tells_of_the_past_as_an_emergency():
    """The emergency classifier would call this one (a fall told as what happened next), but the
    text tells of the past and has no word of now, so the rules' reading stands."""
    text = "后来路边一个骑电动车的被挂倒了 躺着哼哼"
    assert emergency_model(RULES.model_dir).hotline(normalize(text)) is not None
    assert assess(text, RULES_ONLY).level == "normal"
    assert assess(text, RULES).level == "normal"


@pytest.mark.parametrize("text", [
    "这条路是南北交通大动脉，车流量很大", "地铁大动脉非常有必要", "治疗肺动脉高压的药太贵，建议纳入医保",
    "公交倒地铁真的很不方便", "众人拾柴火焰高，欢迎大家都来参加义务植树", "停水了，求书记救救我们！",
    "消防栓没有水，失火后果不堪设想", "脚手架上的钢管没绑牢，砸到人，后果严重",
])
def test_words_of_letters_are_no_emergency(text):
    """Figures of speech and feared consequences in letters, which the rules once read as
    emergencies on the real board messages (python -m bench.safety)."""
    assert assess(text, RULES).level != "emergency", text


@pytest.mark.parametrize("text", ["他割到大动脉了 血止不住", "厨房着火了，后果不堪设想，快来人！"])
def test_the_same_words_in_an_emergency_still_are_one(text):
    assert assess(text, RULES).level == "emergency", text


def test_no_examples_no_model(tmp_path):
    assert emergency_model(tmp_path) is None


# ---------------------------------------------------------------------- self-harm and threats
def test_the_crisis_model_catches_what_the_rules_miss_and_only_adds_help():
    text = "拆迁的事我不争了 我累了 我想去找我老伴了"
    assert not assess(text, RULES_ONLY).concerns
    safety = assess(text, RULES)
    assert safety.level == "crisis" and safety.needs_person and "12356" in safety.hotlines


@pytest.mark.parametrize("text", [
    "气死我了 这个月电费又多扣了五十", "要命了 孩子明天开学 校服还没发下来", "我跟他没完 这个官司我打到底",
    "这个事我跟你们死磕到底", "我要告他 他卖假货 我有证据", "我跟物业拼了 明天就去住建局讨个说法",
    "我拼老命干了一年 工资只发了一半", "累死了 跑了三趟才办完", "我要去刀具市场买把好菜刀",
    "我爸上个月去世了 他的养老金账户怎么处理", "我心情不太好 最近失眠 想问社区有没有心理咨询",
    "楼下的烧烤烟熏得我快死了", "我宁死也不搬 请依法补偿", "谁也不想长期在外面飘着，谢谢",
    "修了新路以后 总算拔掉了压在我们村心头的这颗大炸弹", "加油站离学校这么近 就像一颗定时炸弹",
    "还是通管道气安全 煤气罐炸了能把半栋楼掀翻", "水费电费年年涨 我们退休的都快活不起了",
    "补偿不到位就断水断电 这是把人往死里逼", "以上是我的全部建议 到此结束 谢谢领导",
    "这个结论没有数据支撑 请公开测算依据", "楼上每天晚上蹦跳到十二点 孩子没法睡觉",
])
def test_figures_of_speech_and_lawful_pressure_are_no_crisis_or_threat(text):
    assert not assess(text, RULES).concerns, text


def test_a_bomb_made_of_a_gas_tank_is_still_a_threat():
    assert "threat" in assess("你们再不解决 我就用煤气罐炸了你们办公楼", RULES).concerns


@pytest.mark.parametrize("text", ["我没想过自杀，就是心里烦", "上周隔壁小区有人跳楼 天台门也没锁",
                                  "我不会去报复谁的 就想要个说法"])
def test_the_crisis_model_never_overrides_what_the_rules_set_aside(text):
    assert assess(text, RULES).concerns == assess(text, RULES_ONLY).concerns == (), text


def _examples(name: str) -> list[tuple[str, str]]:
    path = ROOT / "data" / "safety_examples" / f"crisis_{name}.yml"
    return [(str(i["text"]), CRISIS_LABELS.get(i["label"], "none"))
            for i in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]]


@pytest.mark.parametrize("held", ["dev", "dev2", "dev3", "dev4", "dev5", "dev7", "dev8"])
def test_the_crisis_model_reads_an_author_it_never_saw(held):
    """Fitted without one author's set, the classifier alone still finds a good part of that
    author's crises and threats, and flags fewer of their near misses than the 5% target allows
    (with room to spare: at most 4%)."""
    held_out = {text for text, _ in _examples(held)}
    train = [x for x in zip(*crisis_examples(ROOT / "data")) if x[0] not in held_out]
    model = CrisisModel([prepare(t, RULES) for t, _ in train], [label for _, label in train],
                        RULES.crisis_cues, RULES.crisis_threshold)
    test = _examples(held)
    flagged = [(label, model.concerns(prepare(t, RULES))) for t, label in test]
    found = sum(1 for label, got in flagged if label != "none" and label in got)
    alarms = sum(1 for label, got in flagged if label == "none" and got)
    positives = sum(1 for label, _ in flagged if label != "none")
    assert found >= 0.45 * positives and alarms <= 0.04 * (len(test) - positives), (found, positives, alarms)


def test_no_examples_no_crisis_model(tmp_path):
    assert crisis_model(tmp_path) is None
