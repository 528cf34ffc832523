"""bot.nlu.matters: the other matters a message names beside the one it is filed under."""
from __future__ import annotations

import pytest

from bot.catalog import Catalog
from bot.nlu import Classification
from bot.nlu.matters import mention, other_matters, pieces, told
from bot.settings import ROOT
from tests.rasa_model import MODEL, RASA

CATALOG = Catalog.load(ROOT / "data")
TWO = "市民：我要反映两件事，一是我们村的自来水发黄，二是村口的桥塌了一半，很危险。我姓赵，电话15812345678。"
THREE = "市民：我反映三个事情。一是小区门口路灯坏了；二是楼下烧烤摊油烟很大；三是我家医保报销一直没到账。电话13812345678"


def fixed(*answers):
    return lambda texts: list(answers)[:len(texts)]


def test_a_listed_letter_is_cut_where_each_matter_starts():
    text = "我反映三个事：一是文化路社区停水两天；二是幸福里社区门口烧烤摊半夜吵；三是我家老人低保没批下来。"
    assert pieces(text) == ["一是文化路社区停水两天", "二是幸福里社区门口烧烤摊半夜吵", "三是我家老人低保没批下来"]


def test_the_frame_of_a_letter_is_no_matter():
    text = "尊敬的领导您好，我是幸福里小区的业主。我们小区门口的路灯坏了一个多星期了，希望尽快维修，谢谢！"
    assert pieces(text) == ["我们小区门口的路灯坏了一个多星期了，希望尽快维修"]


def test_the_others_are_told_once_each_and_never_the_main_one():
    text = "一是文化路社区停水两天；二是幸福里门口烧烤摊半夜吵；三是我家老人低保没批下来；另外停水的事物业也不管"
    answers = fixed(("urban.water_supply", 0.95), ("env.noise", 0.9), ("civil.subsistence", 0.8),
                    ("urban.water_supply", 0.9))
    others = other_matters(text, "urban.water_supply", answers, CATALOG)
    assert others == ["env.noise", "civil.subsistence"]
    assert mention(others, CATALOG) == "噪声扰民、低保申请"


def test_unsure_pieces_and_letters_that_list_nothing_say_nothing():
    listed = "一是小区门口路灯坏了一排；二是楼下不知道什么情况一直有响声"
    assert other_matters(listed, "urban.municipal_facility",
                         fixed(("urban.municipal_facility", 0.9), ("env.noise", 0.4)), CATALOG) == []
    one_matter = "孩子今年上小学，我们有居住证，社保也交了三年，户口在外地，请问能不能在这边报名"
    assert other_matters(one_matter, "education.enrollment",
                         fixed(("education.enrollment", 0.9), ("labor.social_insurance", 0.9)), CATALOG) == []


class Cues:
    """A stand-in classifier: the category of the first cue a text holds, sure of it."""
    CUES = {"停水": "urban.water_supply", "吵": "env.noise", "低保": "civil.subsistence"}

    def classify(self, texts):
        out = []
        for text in texts:
            code = next((c for cue, c in self.CUES.items() if cue in text), "other.misc")
            category = CATALOG.categories[code]
            out.append(Classification(code, category.level1, category.level2, 0.9))
        return out


def test_an_operator_is_told_of_the_other_matters_of_a_call(sqlite_container):
    from bot.intake.service import IntakeService

    intake = IntakeService(sqlite_container.cases, sqlite_container.catalog, Cues())
    listed = intake.propose_text("市民：我反映两个事，第一是幸福里小区停水两天了，第二是小区门口烧烤摊半夜太吵了。"
                                 "电话13812345678")
    assert any("还提到了其他事项：噪声扰民" in w for w in listed.warnings), listed.warnings
    single = intake.propose_text("市民：幸福里小区停水两天了，一直没人来修。电话13812345678")
    assert not any("其他事项" in w for w in single.warnings), single.warnings


def test_a_listed_matter_the_classifier_cannot_read_is_told_in_the_callers_words():
    text = "我要反映两件事，一是我们村的自来水发黄，二是村口的桥塌了一半，很危险。\n我姓赵，电话15812345678"
    unsure = fixed(("urban.water_supply", 0.95), ("other.misc", 0.0), ("education.fees", 0.3))
    assert told(text, "urban.water_supply", unsure, CATALOG) == ["“村口的桥塌了一半”"]
    sure = fixed(("urban.water_supply", 0.95), ("agri.rural_road", 0.85), ("education.fees", 0.3))
    assert told(text, "urban.water_supply", sure, CATALOG) == ["农村基础设施"]
    # filed under the second matter: the first is the other one
    assert told(text, "agri.rural_road", sure, CATALOG) == ["供水"]
    # … and, when no piece reads as the main matter, it is the first the classifier is unsure of
    assert told(text, "agri.rural_road", unsure, CATALOG) == ["供水"]
    assert told(text, "agri.rural_road", fixed(("other.misc", 0.2), ("other.misc", 0.1), ("other.misc", 0.1)),
                CATALOG) == ["“村口的桥塌了一半”"]
    # 还有 after a short first matter; a long one is cut
    text = "楼道灯坏了，还有楼下那个垃圾站的垃圾已经堆了一个多星期都没有人来清理"
    assert told(text, "urban.municipal_facility",
                fixed(("urban.municipal_facility", 0.9), ("other.misc", 0.1)), CATALOG) == \
        ["“楼下那个垃圾站的垃圾已经堆…”"]


def test_what_lists_no_matter_is_not_told():
    unsure = fixed(("urban.municipal_facility", 0.9), ("other.misc", 0.1), ("other.misc", 0.1))
    for text in ("楼道灯坏了一个星期了，同时希望尽快处理。", "首先感谢你们，楼道灯坏了一个星期了",
                 "楼道灯坏了一个星期了，一直没人修。我姓赵，电话15812345678"):
        assert told(text, "urban.municipal_facility", unsure, CATALOG) == [], text
    # a listed piece whose best guess, however unsure, is the main matter is a detail of it
    assert told("一是楼道灯坏了一个星期；二是灯的事物业也不管", "urban.municipal_facility",
                fixed(("urban.municipal_facility", 0.9), ("urban.municipal_facility", 0.4)), CATALOG) == []


def test_a_call_that_lists_matters_warns_even_with_the_keyword_fallback(sqlite_container):
    from bot.intake.service import IntakeService
    from bot.nlu import KeywordClassifier

    intake = IntakeService(sqlite_container.cases, sqlite_container.catalog,
                           KeywordClassifier(sqlite_container.catalog))
    p = intake.propose_text(TWO)
    assert p.category["code"] == "urban.water_supply"
    assert "来电还提到了其他事项：“村口的桥塌了一半”，如是另外的诉求，请分别登记" in p.warnings, p.warnings
    p = intake.propose_text(THREE)
    assert p.summary.startswith("来电人反映：一是小区门口路灯坏了；二是楼下烧烤摊油烟很大；三是"), p.summary
    others = next(w for w in p.warnings if "其他事项" in w)
    assert p.category["level2"] in ("市政设施", "餐饮油烟", "医保报销") and p.category["level2"] not in others
    assert all(name in others for name in {"市政设施", "餐饮油烟", "医保报销"} - {p.category["level2"]}), others


@pytest.mark.rasa
@pytest.mark.slow
def test_an_operator_is_told_of_every_listed_matter_with_the_trained_model(sqlite_container):
    from bot.intake.service import IntakeService
    from bot.nlu.rasa import RasaClassifier

    if not (RASA.is_file() and MODEL.is_file()):
        pytest.skip(f"needs the Rasa environment and a trained model at {MODEL} (make model)")
    classifier = RasaClassifier(sqlite_container.catalog, MODEL)
    try:
        intake = IntakeService(sqlite_container.cases, sqlite_container.catalog, classifier)
        p = intake.propose_text(TWO)
        others = [w for w in p.warnings if w.startswith("来电还提到了其他事项：")]
        assert len(others) == 1 and ("农村基础设施" in others[0] or "“村口的桥塌了一半”" in others[0]), p.warnings
        assert p.category["level2"] not in others[0]
        assert p.summary.startswith("赵") and "自来水发黄" in p.summary and "桥塌了一半" in p.summary, p.summary
        p = intake.propose_text(THREE)
        others = next(w for w in p.warnings if w.startswith("来电还提到了其他事项："))
        named = [n for n in ("市政设施", "餐饮油烟", "医保报销") if n in others]
        assert len(named) == 2 and p.category["level2"] not in named, (p.category, others)
        assert p.summary.startswith("来电人反映：一是小区门口路灯坏了；二是"), p.summary
    finally:
        classifier.close()
