"""What makes cases "the same matter" for hot spots (bot/cases/hotspots.py): one matter filed
under two 一级 by different operators is still one hot spot; one matter in five residents' own
words is one; the same words about five different roads are five matters, not one, also when a
road is one of the county's names without a suffix (幸福里)."""
from __future__ import annotations

from bot.cases import OpenCase, hotspots
from tests.test_supervision import background

RULES = hotspots.HotspotRules(min_cases=5, window_days=7)
LAMP = ["和平巷整条街的路灯坏了一个多星期，晚上漆黑", "和平巷的路灯坏了一个多星期了，晚上漆黑不敢走",
        "和平巷这条街路灯坏了一个多星期，一直不亮", "和平巷路灯坏了一个多星期没人修，晚上漆黑",
        "和平巷的路灯坏了，晚上漆黑一片，一个多星期了"]
ROADS = ["文化路", "人民路", "滨河路", "解放路", "建设街"]
# one burst main in five wordings: they share its characters (主, 水, 管) more than bigrams
PIPE = ["育才路主水管破裂了，整片停水", "育才路这边主管道漏水，家里停水好几天", "育才路水管爆了，家里停水",
        "育才路停水两天，说是主水管坏了", "育才路主管道漏水，整片都停水了"]


def open_all(container, clock, texts_and_categories) -> list[str]:
    numbers = []
    for i, (text, category) in enumerate(texts_and_categories):
        clock.advance(hours=5)
        numbers.append(container.cases.open_case(OpenCase(
            text=text, category=category, area="S1P1G1" if i % 2 else "S1P1G2", channel="phone",
            address=f"1390000{i:04d}")).number)
    return numbers


def test_one_matter_under_two_level1_categories_is_one_hot_spot(container, clock):
    background(container, clock)                     # the window's other cases: its IDF
    categories = ["urban.municipal_facility", "transport.road"] * 3
    numbers = open_all(container, clock, zip(LAMP, categories))
    [spot] = hotspots.detect(container.cases, RULES)
    assert set(spot.numbers) == set(numbers) and spot.residents == 5
    assert spot.category == "urban.municipal_facility" and spot.level1 == "城乡建设"


def test_the_same_words_about_different_roads_are_different_matters(container, clock):
    background(container, clock)
    texts = [f"{frame}{road}{thing}破损严重，请给个说法。" for frame, road, thing in zip(
        ("我要投诉，", "反映个事，", "您好，", "", "你们好，"), ROADS, ("的桥面", "这边坡道", "人行道", "路面", "的台阶"))]
    open_all(container, clock, [(t, "transport.road") for t in texts])
    assert hotspots.detect(container.cases, RULES) == []
    assert hotspots.named_places("我住在建设街附近，文化路口") == {"我住在建设街", "文化路"}


def test_one_matter_in_each_residents_own_words_is_one_hot_spot(container, clock):
    background(container, clock)
    numbers = open_all(container, clock, [(t, "urban.water_supply") for t in PIPE])
    [spot] = hotspots.detect(container.cases, RULES)
    assert set(spot.numbers) == set(numbers) and spot.residents == 5


def test_a_county_place_name_without_a_suffix_is_a_place(container, clock):
    known = hotspots.known_places(container.catalog)
    assert "幸福里" in known and "文化路社区" in known
    assert hotspots.named_places("我是幸福里的居民，井盖丢了", known) == {"幸福里"}
    background(container, clock)
    texts = [f"{frame}{road}井盖丢了，晚上很危险" for frame, road in zip(
        ("我是", "您好，", "反映个事，", "", "你们好，"), ("幸福里的居民，", "人民广场这边", "文化路", "滨河路", "东湖小区"))]
    open_all(container, clock, [(t, "urban.municipal_facility") for t in texts])
    assert hotspots.detect(container.cases, RULES) == []
