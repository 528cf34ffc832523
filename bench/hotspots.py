"""Hot spot detection (预警) on a generated month of cases with planted clusters.

    .venv/app/bin/python -m bench.hotspots [--per-day 60] [--seed 11]

A month of background cases (random categories, areas, objects and wordings, one resident
each) is written, with planted clusters: one matter (an object with its problem) raised by
5 to 12 residents of one neighbourhood within a few days, each in their own words (now and then
without naming the place), some of them calling more than once, now and then filed under a
sibling category. Decoys that must not raise an alert (`NEAR_MISSES` and three plants):
  one resident calling again and again;
  3 or 4 residents (with repeat calls) about one matter, below the threshold;
  two matters of one category in one neighbourhood on the same days, 3 residents each;
  one matter's words from 3 residents in one 站 and 3 in another;
  one matter raised by 6 residents, but one every few days, never 5 within the window;
  one everyday complaint (a lamp, a manhole cover) from 5 to 7 residents of one
  neighbourhood, each about another road: as many matters as roads.
The scan runs at the end of every day with `raise_alerts`, as the timer does; at the month's
end each alert is judged:
  an alert is right when 80 % or more of its cases belong to one planted cluster (an alert
  on a decoy is wrong, and counted in decoys_alerted);
  a planted cluster is found when an alert is right about it;
  precision = right alerts / alerts, recall = found clusters / planted clusters.
Runs on SQLite (var/bench/) and on PostgreSQL when reachable.
"""
from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from bot.cases import hotspots
from bot.cases.models import CaseRow, EventRow
from bot.container import Container
from bot.settings import ROOT, Settings

START = datetime(2026, 10, 1)
ROADS = ["文化路", "幸福里", "人民路", "东湖花园", "滨河路", "青石村", "建设街", "解放路", "和平巷",
         "光明小区", "南门街", "新华路", "育才路", "北关村", "纺织厂宿舍", "电力小区"]
FRAMES = ["您好，我住在{place}，", "我是{place}的居民，", "反映个事，{place}这边", "{place}，",
          "麻烦问一下，我家在{place}，", "我要投诉，{place}", "你们好，{place}这里"]
TAILS = ["希望尽快处理。", "请有关部门管一管。", "已经反映过没人管。", "谢谢。", "麻烦派人来看看。",
         "影响很大，盼回复。", "", "老人孩子都受影响。", "请给个说法。"]
# category → (objects, problems): background matters are an object with a problem.
MATTERS = {
    "env.noise": (["KTV", "烧烤摊", "工地", "广场舞音响", "楼上装修", "酒吧", "修车铺", "夜市", "菜市场喇叭",
                   "空调外机", "健身房", "棋牌室"],
                  ["晚上十一点以后还很吵", "噪音太大没法休息", "一大早就开始响", "声音大得震耳朵",
                   "周末也不停", "说了几次不听", "放音乐放到凌晨"]),
    "env.cooking_fume": (["饭店", "烧烤店", "小吃店", "食堂", "火锅店", "早餐铺"],
                         ["油烟直排进窗户", "油烟很大呛人", "排烟管道对着居民楼", "没装净化器",
                          "墙都熏黑了"]),
    "urban.property": (["物业", "小区门禁", "楼道灯", "单元门", "监控", "化粪池", "绿化带", "停车杆"],
                       ["坏了没人修", "收费不合理", "服务很差", "一直不管", "乱涨价", "保安态度恶劣",
                        "维修基金去向不明"]),
    "urban.water_supply": (["自来水", "水管", "二次供水", "水表", "水龙头", "消防栓"],
                           ["停水没通知", "水发黄有异味", "漏水", "水压太低上不去", "水费算错了",
                            "冬天冻裂了"]),
    "urban.power_supply": (["小区电路", "变压器", "电表箱", "线路", "充电桩", "电线杆"],
                           ["经常跳闸", "嗡嗡响很吓人", "老化冒火花", "电压不稳", "电费异常",
                            "歪了要倒"]),
    "urban.sanitation": (["垃圾桶", "公厕", "垃圾站", "下水道", "化粪池", "废品站"],
                         ["很多天没人清理", "臭气熏天", "满了溢出来", "蚊蝇很多", "堵了往外冒",
                          "位置太近影响生活"]),
    "urban.municipal_facility": (["井盖", "路灯", "人行道", "护栏", "公交站牌", "健身器材"],
                                 ["丢了很危险", "晚上不亮", "砖松了", "损坏了没人修", "被撞歪了",
                                  "生锈断了"]),
    "urban.street_vending": (["菜摊", "水果摊", "早点摊", "烧烤摊", "服装摊"],
                             ["占着人行道", "堵住了路口", "占道经营", "垃圾乱扔", "摆到马路中间"]),
    "transport.parking": (["私家车", "货车", "电动车", "共享单车", "面包车"],
                          ["长期占用车位", "乱停乱放", "停在盲道上", "收费不合理", "挡住单元门"]),
    "transport.road": (["路面", "桥面", "巷子路", "人行道", "坡道"],
                       ["坑坑洼洼", "积水很深", "破损严重", "开裂了", "修了一半停工"]),
    "labor.wage_arrears": (["工地老板", "装修公司", "饭店老板", "物流公司", "保洁公司", "厂里"],
                           ["拖欠工资三个月", "不发工钱", "欠薪不给", "扣押工资", "年底结账一直拖"]),
    "market.food_safety": (["超市", "面包店", "熟食店", "饭馆", "奶茶店", "菜场摊位"],
                           ["卖过期食品", "吃了拉肚子", "食品发霉", "没有营业执照", "后厨很脏"]),
    "civil.elderly_care": (["养老院", "日间照料中心", "老年食堂"],
                           ["服务不到位", "收费太高", "饭菜太差", "护工态度差"]),
}
DETAILS = ["", "", "就在单元门口，", "靠近菜市场，", "在学校旁边，", "昨天开始的，", "上个月就这样，",
           "好几年了，", "邻居也有意见，"]
# Planted matters: (category, sibling category, specific object, its problem, other ways to say it)
PLANTS = [
    ("urban.property", "urban.municipal_facility", "7号楼电梯", "电梯经常卡在半空，困过人",
     ["电梯又坏了，关人在里面", "7号楼的电梯三天两头停运", "电梯一直卡住很吓人"]),
    ("env.noise", "env.air", "搅拌站", "搅拌站夜里开工，轰隆隆响",
     ["搅拌站半夜施工太吵", "晚上搅拌站机器声震得玻璃响", "搅拌站通宵作业"]),
    ("urban.water_supply", "urban.municipal_facility", "主水管", "主水管破裂，整片停水",
     ["水管爆了到处是水，家里停水", "主管道漏水好几天", "停水了说是主水管坏了"]),
    ("urban.sanitation", "urban.property", "河边垃圾堆", "河边堆了一大片垃圾，臭得不行",
     ["河边垃圾堆没人清", "河道边上垃圾越堆越多发臭", "河边的垃圾堆招苍蝇"]),
    ("urban.power_supply", "urban.property", "配电房", "配电房着过火，现在三天两头停电",
     ["配电房出问题一直停电", "停电了，听说是配电房烧了", "配电房老化整栋楼断电"]),
    ("labor.wage_arrears", "labor.dispute", "安居工程项目部", "安居工程项目部拖欠农民工工资",
     ["安居工程的工钱一直不给", "项目部欠我们几个月工资", "安居工程包工头跑了工资没结"]),
    ("market.food_safety", "market.consumer_rights", "学校门口的炸串店", "学校门口炸串店用地沟油，孩子吃了肚子疼",
     ["炸串店的油黑乎乎的", "学校门口炸串吃坏了肚子", "炸串店卫生太差孩子吃了呕吐"]),
    ("transport.road", "transport.traffic_facility", "新修的桥头", "桥头路面塌了个大坑，电动车摔了好几个",
     ["桥头那个坑摔人了", "桥头路面下陷很危险", "新桥头塌陷没人修"]),
    ("env.cooking_fume", "env.air", "美食街排烟口", "美食街排烟口正对住户，油烟熏得开不了窗",
     ["美食街的油烟太大了", "排烟口对着我家窗户", "美食街油烟熏人"]),
    ("urban.municipal_facility", "transport.road", "路灯", "整条街的路灯坏了一个多星期，晚上漆黑",
     ["路灯全灭了晚上不敢走", "这条街路灯一直不亮", "晚上黑灯瞎火路灯坏了"]),
    ("civil.elderly_care", "civil.subsistence", "敬老院", "敬老院冬天不开暖气，老人冻病了",
     ["敬老院没暖气", "老人在敬老院冻感冒了", "敬老院暖气停了好多天"]),
    ("transport.parking", "transport.traffic_facility", "消防通道", "小区消防通道被车堵死，出了事进不来",
     ["消防通道停满了车", "车把消防通道堵了", "消防通道常年被占"]),
]


# Matters for the near-miss decoys, in the shape of PLANTS (never planted as clusters).
NEAR_MISSES = [
    ("env.noise", "env.air", "广场舞音箱", "广场舞音箱每晚开到十点，吵得孩子没法写作业",
     ["广场舞的音箱声音太大", "跳广场舞的音响震得窗户响", "广场舞天天放到很晚"]),
    ("env.noise", "env.air", "楼下酒吧", "楼下酒吧每天凌晨还在唱歌喝酒",
     ["酒吧半夜唱歌吵死了", "楼下酒吧凌晨还很闹", "酒吧音乐开到后半夜"]),
    ("urban.gas_supply", "urban.property", "燃气管道", "燃气管道有股煤气味，怕出事",
     ["闻到煤气味，像是管道漏气", "燃气管道漏气没人来修", "楼道里一股燃气味"]),
    ("urban.heating", "urban.property", "暖气", "暖气一直不热，屋里才十几度",
     ["暖气片是凉的", "供暖温度不达标家里很冷", "交了暖气费暖气不热"]),
    ("market.consumer_rights", "market.food_safety", "健身房", "健身房老板跑路了，办的卡没法退",
     ["健身房突然关门卡里的钱退不了", "办了年卡健身房就停业了", "健身房跑路了找不到人"]),
]
# Everyday complaints that several residents raise about their own road in the same days.
EVERYDAY = [
    ("urban.municipal_facility", "transport.road",
     ["井盖丢了，晚上很危险", "井盖没了，差点掉下去", "路口的井盖不见了"]),
    ("urban.municipal_facility", "transport.road",
     ["路灯不亮了", "路灯坏了晚上很黑", "路灯好几天没亮"]),
    ("transport.road", "urban.municipal_facility",
     ["路面坑坑洼洼", "路上有个大坑", "路面破了一大块"]),
]
PLACELESS = ["您好，", "反映个事，", "我要投诉，", "你们好，我们这边", ""]


@dataclass
class Truth:
    cluster_of: dict[str, int] = field(default_factory=dict)      # case number → planted cluster
    planted: list[int] = field(default_factory=list)              # clusters that should alert
    decoys: list[int] = field(default_factory=list)               # clusters that should not


def _point_grids(catalog) -> dict[str, list[str]]:
    points = {}
    for code, area in catalog.areas.items():
        if area.tier == "point":
            points[code] = sorted(c for c, a in catalog.areas.items() if a.parent == code) or [code]
    return points


def generate(catalog, *, per_day: int = 60, days: int = 30, seed: int = 11) -> tuple[list[dict], Truth]:
    """Rows (number, category, area, channel, address, text, created_at) and the truth."""
    rng = random.Random(seed)
    points = _point_grids(catalog)
    rows, truth, serial = [], Truth(), Counter()

    def add(category: str, area: str, resident: str, text: str, at: datetime, cluster=None):
        day = at.strftime("%Y%m%d")
        serial[day] += 1
        number = f"H{day}-{serial[day]:04d}"
        rows.append(dict(number=number, category=category, area=area, channel="phone",
                         address=resident, text=text, created_at=at))
        if cluster is not None:
            truth.cluster_of[number] = cluster
    people = iter(range(10_000_000))

    def resident() -> str:
        return f"1390{next(people):07d}"

    for day in range(days):
        for _ in range(per_day):
            category = rng.choice(list(MATTERS))
            objects, problems = MATTERS[category]
            point = rng.choice(list(points))
            area = rng.choice(points[point])
            place = rng.choice(ROADS) + rng.choice(["", f"{rng.randint(1, 40)}号", "小区"])
            text = (rng.choice(FRAMES).format(place=place) + rng.choice(DETAILS)
                    + rng.choice(objects) + rng.choice(problems) + "，" + rng.choice(TAILS))
            at = START + timedelta(days=day, minutes=rng.randint(0, 24 * 60 - 1))
            add(category, area, resident(), text, at)
    def call(index: int, area: str, caller: str, at: datetime, category: str, sibling: str,
             said: str, obj: str | None, place: str | None) -> None:
        where = (rng.choice(FRAMES).format(place=place + rng.choice(["", "这边", "附近"]))
                 if place else rng.choice(PLACELESS))
        text = where + (f"{obj}，" if obj and rng.random() < 0.5 else "") + said + "，" + rng.choice(TAILS)
        add(sibling if rng.random() < 0.2 else category, area, caller, text, at, index)

    def matter(index: int, spec, point: str, callers: list[str], days_at, place: str) -> None:
        category, sibling, obj, problem, others = spec
        for caller, at in zip(callers, days_at):
            call(index, rng.choice(points[point]), caller, at, category, sibling,
                 rng.choice([problem, *others]),
                 obj, place if rng.random() >= 0.15 else None)

    def burst(first: int, count: int) -> list[datetime]:
        return [START + timedelta(days=first + rng.uniform(0, 4.5)) for _ in range(count)]

    plants = list(PLANTS)
    rng.shuffle(plants)
    for index, spec in enumerate(plants):
        decoy = index >= 9                  # the last three plants are decoys below the threshold
        truth.decoys.append(index) if decoy else truth.planted.append(index)
        point = rng.choice(list(points))
        first = rng.randint(0, days - 6)
        callers = [resident() for _ in range(rng.randint(3, 4) if decoy else rng.randint(5, 12))]
        if index == len(plants) - 1:        # one resident calling six times
            callers = callers[:1] * 6
        calls = callers + [rng.choice(callers) for _ in range(rng.randint(0, 3))]
        matter(index, spec, point, calls, burst(first, len(calls)), rng.choice(ROADS))
    index = len(plants)
    near = list(NEAR_MISSES)
    rng.shuffle(near)
    stations: dict[str, list[str]] = {}
    for point in points:
        stations.setdefault(catalog.ancestor_at(point, "station").code, []).append(point)
    # two matters of one category in one neighbourhood, the same days, 3 residents each
    point, first = rng.choice(list(points)), rng.randint(0, days - 6)
    pair = [m for m in NEAR_MISSES if m[0] == "env.noise"]
    for spec in pair:
        truth.decoys.append(index)
        matter(index, spec, point, [resident() for _ in range(3)], burst(first, 3), rng.choice(ROADS))
        index += 1
    rest = [m for m in near if m[0] != "env.noise"]
    # one matter's words from 3 residents in one 站 and 3 in another
    truth.decoys.append(index)
    first, place = rng.randint(0, days - 6), rng.choice(ROADS)
    for station in rng.sample(sorted(stations), 2):
        matter(index, rest[0], rng.choice(stations[station]), [resident() for _ in range(3)],
               burst(first, 3), place)
    index += 1
    # one matter from 6 residents, one every 2.5 to 4 days: never 5 within the window
    truth.decoys.append(index)
    at, slow = START + timedelta(days=rng.uniform(0, 2)), []
    for _ in range(6):
        slow.append(at)
        at += timedelta(days=rng.uniform(2.5, 4))
    matter(index, rest[1], rng.choice(list(points)), [resident() for _ in range(6)], slow,
           rng.choice(ROADS))
    index += 1
    # an everyday complaint from 5 to 7 residents of one neighbourhood, each about their road
    truth.decoys.append(index)
    category, sibling, sayings = rng.choice(EVERYDAY)
    point, first = rng.choice(list(points)), rng.randint(0, days - 6)
    roads = rng.sample(ROADS, rng.randint(5, 7))
    for road, at in zip(roads, burst(first, len(roads))):
        call(index, rng.choice(points[point]), resident(), at, category, sibling,
             rng.choice(sayings), None, road)
    index += 1
    rows.sort(key=lambda r: r["created_at"])
    return rows, truth


def write(container: Container, rows: list[dict]) -> None:
    """Bulk-insert the cases (opened and assigned, as the product routes them)."""
    catalog = container.catalog
    with container.engine.begin() as conn:
        for offset in range(0, len(rows), 2000):
            chunk = rows[offset:offset + 2000]
            cases = []
            for r in chunk:
                route = catalog.route(r["category"], r["area"])
                cases.append(dict(number=r["number"], kind="demand", category_code=r["category"],
                                  area_code=r["area"], body_code=route.body.code,
                                  agent_code=route.agent.code, tier=route.tier, state="assigned",
                                  text=r["text"], summary=r["text"][:60], channel=r["channel"],
                                  address=r["address"], created_at=r["created_at"],
                                  updated_at=r["created_at"],
                                  due_at=r["created_at"] + timedelta(days=7), event_count=2))
            ids = conn.execute(insert(CaseRow).returning(CaseRow.id, sort_by_parameter_order=True),
                               cases).scalars().all()
            conn.execute(insert(EventRow), [
                dict(case_id=i, seq=seq, at=c["created_at"], actor="bench", action=action,
                     from_state=frm, to_state=to, body_code=c["body_code"],
                     agent_code=c["agent_code"], data={})
                for i, c in zip(ids, cases)
                for seq, (action, frm, to) in enumerate([("open", None, "received"),
                                                         ("assign", "received", "assigned")], 1)])


def judge(alerts: list[dict], truth: Truth) -> dict:
    right, found = 0, set()
    for alert in alerts:
        owners = Counter(truth.cluster_of.get(n) for n in alert["case_numbers"])
        cluster, count = owners.most_common(1)[0]
        if cluster is not None and count >= 0.8 * len(alert["case_numbers"]):
            found.add(cluster)
            right += cluster in truth.planted
    planted_found = found & set(truth.planted)
    return {"alerts": len(alerts), "right": right,
            "precision": round(right / len(alerts), 3) if alerts else None,
            "recall": round(len(planted_found) / len(truth.planted), 3),
            "decoys_alerted": len(found & set(truth.decoys))}


def run(url: str, var: Path, *, per_day: int, seed: int, days: int = 30) -> dict:
    container = Container(Settings.from_env({"DATABASE_URL": url, "BOT_VAR_DIR": str(var),
                                             "BOT_DATA_DIR": str(ROOT / "data")}))
    container.upgrade()
    rows, truth = generate(container.catalog, per_day=per_day, days=days, seed=seed)
    write(container, rows)
    service, rules = container.cases, hotspots.HotspotRules.from_env()
    scans = []
    for day in range(1, days + 1):
        now = START + timedelta(days=day)
        service.clock = lambda now=now: now
        t0 = time.perf_counter()
        hotspots.scan(service, rules, now=now, raise_alerts=True)
        scans.append(time.perf_counter() - t0)
    result = judge(hotspots.alerts(service, limit=10_000), truth)
    scans.sort()
    container.engine.dispose()
    return {**result, "cases": len(rows), "planted": len(truth.planted),
            "decoys": len(truth.decoys), "scan_p95_ms": round(scans[int(0.95 * len(scans)) - 1] * 1000, 1)}


def main() -> None:
    from bench.cases import drop_postgres, postgres_url

    parser = argparse.ArgumentParser()
    parser.add_argument("--per-day", type=int, default=60)
    parser.add_argument("--seeds", default="21,22,23,24,25",
                        help="months to generate (the defaults were never used for tuning)")
    args = parser.parse_args()
    var = ROOT / "var" / "bench" / "hotspots"
    var.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    results = []
    for seed in seeds:
        db = var / f"hotspots-{seed}.db"
        db.unlink(missing_ok=True)
        results.append(run(f"sqlite:///{db}", var, per_day=args.per_day, seed=seed))
        db.unlink(missing_ok=True)
        print(f"hotspots sqlite seed {seed}: {results[-1]}")
    right = sum(r["right"] for r in results)
    alerts = sum(r["alerts"] for r in results)
    found = sum(r["recall"] * r["planted"] for r in results)
    planted = sum(r["planted"] for r in results)
    print(f"hotspots sqlite, {len(seeds)} months: precision {right / max(alerts, 1):.3f} "
          f"({right}/{alerts} alerts right), recall {found / planted:.3f} "
          f"({round(found)}/{planted} clusters found), decoys alerted "
          f"{sum(r['decoys_alerted'] for r in results)}/{sum(r['decoys'] for r in results)}")
    pg = postgres_url()
    if pg:
        try:
            print(f"hotspots postgresql seed {seeds[0]}: "
                  f"{run(pg, var, per_day=args.per_day, seed=seeds[0])}")
        finally:
            drop_postgres(pg)


if __name__ == "__main__":
    main()
