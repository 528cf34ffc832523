"""Similar open cases for 并单: same or sibling category, same or neighbouring area, ranked by
text similarity; the case itself, merged and finished cases and other places never appear."""
from __future__ import annotations

from bot.cases.similar import LIMIT, neighbourhood, related_categories, similar_cases
from tests.helpers import TEXT, open_case

SAME = "文化路28号烧烤店半夜还在营业，噪音太大吵得睡不着"


def _numbers(found):
    return [s.number for s in found]


def test_ranked_by_text_and_scoped_by_category_and_area(service):
    base = open_case(service)                                   # env.noise, S1P1G1
    near = open_case(service, text=SAME, area="S1P1G2")        # a neighbouring grid
    sibling = open_case(service, text="文化路28号烧烤店油烟太大，噪音也大，晚上睡不着",
                        category="env.cooking_fume")
    unrelated = open_case(service, text="小区门口工地夜间打桩施工，震得窗户响")
    far = open_case(service, text=TEXT, area="S2P1G1")          # another 街道
    other_level1 = open_case(service, text=TEXT, category="urban.property")
    merged = open_case(service, text=TEXT)
    service.act(merged, "merge", to=near)
    withdrawn = open_case(service, text=TEXT)
    service.act(withdrawn, "withdraw", text="不需要了")

    found = similar_cases(service, service.get(base))
    numbers = _numbers(found)
    assert numbers[:2] == [near, sibling]
    assert base not in numbers
    for excluded in (far, other_level1, merged, withdrawn):
        assert excluded not in numbers
    assert unrelated not in numbers[:2]
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    first, second = found[0], found[1]
    assert first.same_category and "相邻区域、同分类" in first.reason and 0 < first.score <= 1
    assert not second.same_category and "同属环境保护" in second.reason
    assert first.to_dict()["category"]["code"] == "env.noise"


def test_at_most_five_and_masked(service):
    base = open_case(service, area="S3P1G1", category="urban.municipal_facility", text="青石村一组路灯坏了，晚上很黑，电话13812345678")
    for n in range(LIMIT + 2):
        open_case(service, area="S3P1G2", category="urban.municipal_facility",
                  text=f"青石村路灯坏了第{n}盏，晚上很黑，联系13812345678")
    found = similar_cases(service, service.get(base))
    assert len(found) == LIMIT
    assert all("13812345678" not in s.summary for s in found)


def test_nothing_similar_gives_an_empty_list(service):
    base = open_case(service, area="S4P2G1", category="agri.homestead",
                     text="桃园村宅基地确权一直没办下来")
    assert similar_cases(service, service.get(base)) == []


def test_neighbourhood_and_related_categories(catalog=None):
    from bot.catalog import Catalog
    from bot.settings import ROOT

    catalog = Catalog.load(ROOT / "data")
    assert neighbourhood(catalog, "S1P1G1") == {"S1P1", "S1P1G1", "S1P1G2"}
    assert "S1P2G1" in neighbourhood(catalog, "S1P1")          # a point: its whole 街道
    assert neighbourhood(catalog, "C") is None and neighbourhood(catalog, None) is None
    assert set(related_categories(catalog, "env.noise")) == {
        "env.noise", "env.air", "env.cooking_fume", "env.water_pollution", "env.industrial"}


def test_only_what_the_caller_may_see(service):
    base = open_case(service, area="S2P2G1")
    seen = open_case(service, area="S2P2G1", text=SAME)
    hidden = open_case(service, area="S2P2G1", text=TEXT)
    found = similar_cases(service, service.get(base), visible=lambda view: view.number != hidden)
    assert _numbers(found) == [seen]
