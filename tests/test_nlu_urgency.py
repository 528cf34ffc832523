"""bot.nlu.urgency: which number to call, and when not to."""
from __future__ import annotations

import pytest

import shutil

from bot.nlu.urgency import HOTLINE_LABELS, Urgency, assess, detect_urgency, hotline_label, load_rules, mentions_emergency
from bot.settings import ROOT


@pytest.mark.parametrize("text,hotline", [
    ("楼道里着火了，烟很大", "119"),
    ("厨房煤气泄漏了，闻到好大的煤气味", "119"),
    ("电梯困人了，我们被困在里面出不来", "119"),
    ("有人掉河里了", "119"),
    ("我爸突然晕倒了，叫不醒", "120"),
    ("楼下有人拿着刀追着人砍", "110"),
    ("孩子走丢了，找了一个小时", "110"),
    ("救命", "110"),
    ("路口两辆车撞车了", "122"),
    ("我老公天天喝酒打我，我不敢回家", "110"),
    ("男人喝醉了就打孩子", "110"),
])
def test_emergencies_name_the_number(text, hotline):
    urgency = detect_urgency(text)
    assert urgency.level == "emergency" and urgency.hotline == hotline and urgency.is_emergency
    assert urgency.reason


def test_several_numbers_most_important_first():
    urgency = detect_urgency("十字路口车祸，有人受伤流了好多血")
    assert urgency.hotlines == ("120", "122") and urgency.hotline == "120"
    assert detect_urgency("有人持刀伤人，流了一地血").hotlines == ("110", "120")
    assert detect_urgency("着火了还有人被困在楼上").hotlines == ("119",)


@pytest.mark.parametrize("text", [
    "去年楼道着火烧坏的电线，物业到现在也没修",
    "上个月小区车祸的赔偿还没谈好",
])
def test_past_events_are_urgent_not_emergencies(text):
    urgency = detect_urgency(text)
    assert urgency.level == "urgent" and urgency.hotline is None


@pytest.mark.parametrize("text", ["电线老化有火灾隐患", "路口井盖丢了很危险", "老楼墙皮脱落",
                                  "楼道里堆满了杂物，万一着火了怎么跑", "要是煤气泄漏了怎么办",
                                  "电动车在楼道里充电，我担心着火"])
def test_hazards_and_feared_emergencies_are_urgent(text):
    urgency = detect_urgency(text)
    assert urgency.level == "urgent" and urgency.hotline is None and urgency.reason


def test_a_feared_emergency_beside_a_real_one_is_still_an_emergency():
    assert detect_urgency("万一着火就麻烦了——现在已经着火了！").hotline == "119"


@pytest.mark.parametrize("text, hotline", [("我怕他拿刀砍人，他喝醉了在砸门", "110"),
                                           ("楼塌了，可能有人被困在里面", "119")])
def test_fear_of_a_person_or_uncertainty_is_still_an_emergency(text, hotline):
    assert detect_urgency(text).hotline == hotline


@pytest.mark.parametrize("text, mentioned", [
    ("没着火，就是烧烤的烟大", True), ("万一着火了怎么跑", True), ("去年车祸的赔偿", True),
    ("快派人来看看，出大事了", False), ("", False), (None, False)])
def test_mentions_emergency_sees_every_emergency_word(text, mentioned):
    assert mentions_emergency(text) is mentioned


@pytest.mark.parametrize("text", [
    "", "   ", None, "楼下烧烤店半夜很吵", "没着火，就是烧烤的烟大", "怎么预防火灾", "😀😀", "x" * 20000,
    "消防通道被车堵了", "物业一直不打我电话", "他们打我的手机也没人说清楚"])
def test_normal(text):
    assert detect_urgency(text) == Urgency("normal", None, "")


def test_labels():
    assert hotline_label("119") == "消防救援电话" and hotline_label("999") == "紧急求助电话"


# ---------------------------------------------------------------------- as callers say it (issue 10 part 4)
@pytest.mark.parametrize("text, hotline", [
    ("喂 喂 那个 菜场后面有人打起来了 一个拿着钢管 有个人头上全是血", "110"),
    ("我们村口 有个老头 躺地上不动 叫他没反应", "120"),
    ("那个男的 昏过去了 好像没气了 你们快来", "120"),
    ("仓库那边一直往外冒黑烟 没看见火 烟越来越大", "119"),
    ("楼道里一股烧焦味 不知道哪家", "119"),
    ("厨房里好大的燃气味 我不敢开灯", "119"),
    ("电梯卡在五楼了 里面关着两个老人", "119"),
    ("有个小孩掉水塘里了 在水里扑腾", "119"),
    ("工地上有个工人触电了 倒在那里", "120"),
    ("国道上两辆车相撞 有人卡在车里流血", "119"),
    ("三轮车被大货车撞了 骑车的人起不来", "120"),
    ("家里老人喝了半瓶敌敌畏 吐了一地", "120"),
    ("他把我堵在楼道里 手里有家伙", "110"),
])
def test_emergencies_as_callers_say_them(text, hotline):
    safety = assess(text)
    assert safety.level == "emergency" and safety.hotline == hotline and safety.reason


@pytest.mark.parametrize("text", [
    "气得我要爆炸了，物业还是不修电梯",
    "吵死了，楼上天天装修",
    "万一着火了消防车都进不来",
    "去年我们楼着过一次火，墙到现在还是黑的",
    "前年这个路口出过车祸，能不能装个红绿灯",
    "厂里的烟囱天天冒黑烟，熏得人头疼",
    "昨天楼下有人打架，后来散了",
    "我刚才梦见家里着火了",
    "学校组织消防演练，烟好大",
    "这个价格简直要人命",
    "楼下烧烤摊烟大得要死",
    "他拿着菜刀在厨房切菜",
    "救命啊，这个网站怎么都登不上去",
    "没闻到煤气味，就是燃气表走得快",
    "这家伙天天占我车位，物业也不管",
    "想买点农药打果树，农资店说要实名",
])
def test_near_misses_are_not_emergencies(text):
    assert assess(text).level != "emergency"


@pytest.mark.parametrize("text", ["我不想活了，欠薪三个月", "活着太累了，想一了百了", "我想死，没人帮我",
                                  "你们再推来推去，我就从这楼上跳下去"])
def test_self_harm_is_a_crisis_with_the_psychological_hotline_and_a_person(text):
    safety = assess(text)
    assert safety.level == "crisis" and safety.hotline == "12356" and safety.hotlines == ("12356",)
    assert safety.needs_person and safety.urgent_case and safety.is_crisis and not safety.notify_supervisors
    assert detect_urgency(text).level == "urgent"      # no referral: a person and a case


def test_self_harm_under_way_is_an_emergency_that_also_gives_12356():
    safety = assess("我已经吃了一整瓶安眠药了，不想活了")
    assert safety.level == "emergency" and safety.hotline == "120" and "12356" in safety.hotlines
    assert safety.is_crisis and detect_urgency("我已经吃了一整瓶安眠药了，不想活了").hotlines == ("120",)


@pytest.mark.parametrize("text", ["再不解决我就炸了你们办公楼", "我要去把那个包工头弄死", "信不信我一把火烧了你们村委会",
                                  "我已经买好刀了，明天就去找他"])
def test_threats_are_flagged_for_supervisors_with_110(text):
    safety = assess(text)
    assert safety.level == "threat" and safety.hotline == "110" and safety.notify_supervisors
    assert not safety.is_emergency


@pytest.mark.parametrize("text", ["我不想活了哈哈，作业太多", "这游戏难死了", "新闻上说有人跳楼了", "跳楼价大甩卖",
                                  "再不解决我就去上访", "我要砍价", "这个手机卡死了", "我没想过自杀，就是心里烦"])
def test_crisis_and_threat_near_misses(text):
    assert assess(text).concerns == ()


def test_numbers_come_from_the_data_and_a_county_can_change_them(tmp_path):
    shutil.copy(ROOT / "data" / "safety.yml", tmp_path / "safety.yml")
    (tmp_path / "county").mkdir()
    (tmp_path / "county" / "safety.yml").write_text(
        'hotlines: {"0571-85029595": 市心理援助热线}\ncrisis_hotline: "0571-85029595"\n', encoding="utf-8")
    rules = load_rules(tmp_path)
    safety = assess("我不想活了", rules)
    assert safety.hotline == "0571-85029595" and rules.label("0571-85029595") == "市心理援助热线"
    assert assess("我不想活了").hotline == "12356"
    assert HOTLINE_LABELS["12356"] == "心理援助热线" and hotline_label("110") == "报警电话"


def test_a_pattern_that_matches_everything_is_refused(tmp_path):
    text = (ROOT / "data" / "safety.yml").read_text(encoding="utf-8")
    (tmp_path / "safety.yml").write_text(text.replace("- '隐患|", "- '|隐患|", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="empty string"):
        load_rules(tmp_path)


@pytest.mark.parametrize("text", [None, "", 123, "\ud800", "🔥" * 3000, "ｈｅｌｐ", "\x00\x1f"])
def test_assess_never_raises(text):
    assert assess(text).level in ("emergency", "threat", "crisis", "urgent", "normal")


# ---------------------------------------------------------------------- by meaning, not by phrase (issue 15 part 4)
# Written for this test (not from the blind sets): who, what their body or the place is doing now.
@pytest.mark.parametrize("text, hotline", [
    ("我老伴在卫生间倒下了，问他话也不回", "120"),
    ("宝宝突然抽起来了，嘴里吐白沫", "120"),
    ("孩子被热汤烫了，整条腿都起泡了", "120"),
    ("我奶奶吃汤圆噎住了，脸憋得发紫", "120"),
    ("我爸刚才突然说不出话，半边身子动不了", "120"),
    ("村里有个大爷在水塘里扑腾，快沉下去了", "119"),
    ("一辆三轮车翻到沟里了，人压在车底下", "119"),
    ("楼下邻居门缝里往外冒烟，敲门没人应", "119"),
    ("厨房灶台那边轰的一下着了，火上窗帘了", "119"),
    ("有个陌生人把一个小女孩往车上拽", "110"),
    ("我儿子刚才在公园门口不见了", "110"),
    ("有人在撬我家的门，我一个人在家", "110"),
    ("工地门口一辆渣土车失控撞倒了好几个人", "122"),
    # the probe of 2026-12-02 (issue 15)
    ("俺们村头草垛子着了，火老大了", "119"),         # dialect: a haystack "着了", the fire "老大"
    ("柴火垛子着了", "119"),
    ("火贼大，快来", "119"),
    ("邻居天天打孩子，今天孩子哭得撕心裂肺", "110"),    # a child beaten again and again
    ("隔壁又在打孩子了，孩子一直在惨叫", "110"),
    ("后妈虐待孩子", "110"),
    ("着 火 了 ！ ！ 救 命", "119"),                  # ASR spaced every character: fire, not a bare cry
    ("喂 喂 我 老公 喝多了 拿 刀 要 砍 我 我 躲 在 厕所 里", "110"),
    ("着\u3000火\u3000了", "119"),
])
def test_emergencies_by_who_and_what_now(text, hotline):
    safety = assess(text)
    assert safety.level == "emergency" and safety.hotline == hotline


@pytest.mark.parametrize("text", [
    "过马路时差点被电动车撞倒，这个路口该装红绿灯了",     # a near miss names who first
    "孩子上个月高烧抽搐过一次，现在想问疫苗还能不能打",      # in the past
    "楼道堆满了杂物，到时候着火了谁负责",                   # feared, in the future
    "着火的话消防车根本开不进来",                           # a condition
    "车被人撞了一下，人都没事，保险怎么走",                 # over: nobody hurt
    "火灾保险在哪里买",                                     # not a fire
    "我在市场门口看到一起车祸，交警已经到了",               # handled
])
def test_feared_past_over_and_handled_are_not_emergencies(text):
    assert assess(text).level != "emergency"


def test_a_threat_someone_else_carries_out_is_an_emergency():
    """Threat words said by a third person on the spot are under way: 110 now, supervisors told."""
    safety = assess("商场门口有个人举着一包东西，说是炸药，让大家都别动")
    assert safety.level == "emergency" and safety.hotline == "110" and safety.is_threat
    assert assess("再不给说法，我就带炸药去你们大厅").level == "threat"     # the writer's own: a threat


def test_an_emergency_that_is_over_does_not_hide_a_crisis():
    safety = assess("火已经灭了，可是家也烧没了，我真的不想活了")
    assert safety.is_crisis and not safety.is_emergency and "12356" in safety.hotlines


@pytest.mark.parametrize("text", [
    "我这病拖累了全家，还是走了好",
    "绳子我都准备好了，今晚就结束",
    "我现在已经在你们大楼楼顶上",
    "对不起，这是我最后一条消息了",
    "活着没有任何意义，我想消失",
    "我是不是死了大家就轻松了",                             # "是不是" is a question, not a negation
    "老公跟别人跑了不想活了",                               # 别人 is not the subject here
])
def test_self_harm_by_meaning(text):
    assert assess(text).is_crisis


@pytest.mark.parametrize("text", [
    "刀我已经磨好了，明天就去找那个包工头",
    "我要让他全家不得好死",
    "谁再来拆我家我就砍谁",
    "他敢再来，我一刀劈了他",
    "我非得收拾那个骗子不可",
])
def test_threats_by_meaning(text):
    safety = assess(text)
    assert safety.is_threat and "110" in safety.hotlines


@pytest.mark.parametrize("text", ["这个天热得不想活了", "你去死吧，骗子", "气得我想揍他", "这游戏里我要杀光所有怪",
                                  "听说隔壁楼有个人跳楼了", "我要去市里告他们，讨个说法"])
def test_manners_of_speaking_and_other_peoples_news_are_no_concern(text):
    assert assess(text).concerns == ()


def test_word_lists_expand_and_an_unknown_one_is_refused(tmp_path):
    text = (ROOT / "data" / "safety.yml").read_text(encoding="utf-8")
    assert "{person}" in text and "words:" in text
    (tmp_path / "safety.yml").write_text(text.replace("- '{person}", "- '{nobody}", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown word list"):
        load_rules(tmp_path)


@pytest.mark.parametrize("text", ["🔥", "🔥🔥🔥 楼下", "市民：🔥🔥 楼下饭店 🔥", "火燭呀！成棟樓都係煙",
                                  "我家樓下著火了，快派人來"])
def test_fire_emoji_traditional_and_cantonese_fire_is_119(text):
    safety = assess(text)
    assert safety.level == "emergency" and safety.hotline == "119"


@pytest.mark.parametrize("text", ["这家火锅🔥真好吃推荐", "火锅店🔥", "笑死救命", "著名景区门票太贵",
                                  "这个歌最近好🔥啊，大家都在唱，我就是想问问广场舞音响能不能小点声"])
def test_fire_emoji_as_praise_and_figures_of_speech_are_not_emergencies(text):
    assert assess(text).level != "emergency"


def test_a_call_written_down_as_one_run_of_asr_text_is_not_read_as_a_letter():
    # raw ASR: the whole call on one line, operator and caller mixed, no word of "now" near the
    # injury; a long one-block text would otherwise be taken for a letter telling of the past
    call = ("您好12345请讲,喂,我这边那个,工地门口有人吵架动手了,有个人被推倒撞到石头上,"
            "一直在那躺着,脑袋那流了好多血,喊他也不答应,您先别急,具体哪个位置,就是建设路"
            "跟纬三路那个口子上,他还有没有呼吸,我看不出来我不敢动他,您电话是多少,一三八零"
            "幺二三四五六七,请保持电话畅通")
    assert len(call) > 120 and "\n" not in call
    assert assess(call).level == "emergency"
    # the same words told in a letter of the past stay what they were
    letter = ("尊敬的领导您好，我想反映一下我们小区门口的情况，有个人去年在那里被推倒撞到石头上流了"
              "好多血，后来才修了护栏，可是最近护栏又坏了，一直没有人管，希望有关部门重视，尽快派人"
              "修好护栏，避免再出这样的事情，谢谢领导")
    assert assess(letter).level == "urgent"


# ---------------------------------------------------------------------- letters to a message board (issue 15)
# Written for this test, in the register of the false alarms found on the real board letters
# (python -m bench.safety --ids): events named as a kind, past events told over several clauses,
# dated reports, complaints about care already given, words of devices and near misses.
@pytest.mark.parametrize("text", [
    "这条街晚上车速很快，交通事故也很多，建议装几个测速探头",            # a kind: how many there are
    "电动车在室外充电起火的案例，物业应当引以为戒",                      # a kind: cases
    "自去年冬天起，这个小区已经发生几次撞人事件",                        # a kind: incidents
    "后车追尾是难免的，交警不应该一律判后车全责",                        # a general statement
    "老旧小区线路混乱，极易引起火灾，希望有关部门排查",                  # 引起火灾 holds no 起火
    "建议给独居老人家里装燃气泄漏报警装置",                              # a device
    "路口视线被违停车辆挡住，好几次差点发生交通事故",                    # a near miss
    "天热车厢里不开空调，人挤人会喘不过气来",                            # what would happen
    "快递员说纸箱是被风吹得自己飞出去的",                                # a thing, not a person, flew
    "物业应当保证电梯里的紧急呼救按钮有人应答",                          # a device for calls for help
    "今天下午那个废品站又在冒烟，空气污染太严重了",                      # pollution
    "去年冬天我母亲在小区门口滑倒，头上流了好多血，现在那段路还是结冰没人管",  # the past holds on
    "投诉120急救中心，我爸在家晕倒，救护车四十分钟才到，后来抢救过来了，现在还在住院",
    "尊敬的领导：2023年11月2日晚上，我父亲下班骑车经过幸福路口时被一辆渣土车撞倒，当场昏迷，"
    "司机逃逸。事后交警认定对方全责，可是到现在赔偿一分没拿到。现在这个路口还是没有红绿灯，每天"
    "上下学的孩子很多，希望有关部门尽快在这里装一个信号灯，再派交警在高峰时段值守！",
])
def test_letters_of_kinds_past_events_and_complaints_are_not_emergencies(text):
    assert assess(text).level != "emergency", text


@pytest.mark.parametrize("text, hotline", [
    ("电动车在楼道充电着火后，整个楼道都是烟，我们出不去", "119"),
    ("快点来，高速上发生追尾事故了，有人卡在车里", "119"),
    ("我妈手术后大出血，医生不在，血止不住", "120"),
    ("今天3月5日，我家楼下有人晕倒了，叫不醒", "120"),
    ("着火后我们都跑出来了，楼上还有人被困", "119"),
    ("听说三楼着火了，我们在四楼，烟已经进来了", "119"),
    ("孩子溺水多时，刚捞上来没有呼吸了", "119"),
    ("之前就跟物业说过电线的事，今天电梯里冒烟了，里面还有人，快来", "119"),
    ("尊敬的领导，我是幸福里小区的居民，刚才小区门口发生车祸，一个老人被电动车撞倒在地上一动不动，"
     "流了好多血，骑车的人跑了，到现在也没人管，请相关部门赶紧派人处理，小区门口的红绿灯坏了很久了，"
     "我们反映过好几次一直没人修", "120"),
])
def test_the_same_words_said_of_now_are_still_emergencies(text, hotline):
    safety = assess(text)
    assert safety.level == "emergency" and hotline in safety.hotlines, text


# ------------------------------------------------------------------ the probe of 2026-12-02 (issue 15)
@pytest.mark.parametrize("text", [
    "我着急死了", "孩子睡着了", "钥匙找着了", "晚上没盖被子着了凉", "我火老大了，气死我了", "炉子火老大了",
    "他脾气火可大了", "我昨天打了孩子屁股，会不会太严厉", "邻居打孩子屁股", "孩子不听话可以打孩子吗",
    "好 的 谢 谢", "wo xiang wen yi xia",
])
def test_words_like_those_are_not_emergencies(text):
    assert assess(text).level != "emergency"


def test_words_spaced_out_by_asr_are_mentioned_too():
    from bot.nlu.urgency import mentions_danger

    assert mentions_emergency("着 火 了 ！ ！") and mentions_danger("我 不 想 活 了")
    assert not mentions_danger("好 的 谢 谢")


def test_a_blank_that_is_a_real_pause_still_counts():
    """The joined reading of spaced ASR is taken only where it is at least as urgent: "想死 你们"
    joined is "想死你们" (missing you), but the caller said "想死"."""
    assert assess("我 我想 想死 你们 帮不了我的").level == "crisis"
    assert assess("我 割腕 了 血 止不住").hotlines[:2] == ("120", "12356")
