"""bot.nlu.matters: the other matters a message names beside the one it is filed under."""
from __future__ import annotations

from bot.catalog import Catalog
from bot.nlu import Classification
from bot.nlu.matters import mention, other_matters, pieces
from bot.settings import ROOT

CATALOG = Catalog.load(ROOT / "data")



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
