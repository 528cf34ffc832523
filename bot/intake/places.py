"""Places in what callers say: the address as people name it, and the county area when known.

Two sources meet here:

* the area data (data/county/areas.yml): every area is known by its `place`, its `name`
  (without 代理点/代理站), the alternative spellings in `names`, and the core of each
  (文化路社区 → 文化路, 柳树湾村 → 柳树湾); grids also by their parent's spellings plus the grid's
  own suffix (青石村二组 → 青石二组, 青石村2组). A spelling shared by several areas stands for
  their nearest common ancestor (河口 → 河口乡).
* rules for how addresses are said: residential compounds (阳光花园小区, **小区), buildings and
  rooms (8栋3单元501室), villages and groups (五里村三组), roads and crossings (建设路与解放路
  交叉口), landmarks (家福超市门口). They keep the address text even when the area data do not
  know the place.

A place word is found by its suffix (小区, 路, 村, 超市 …); its name is read leftwards up to the
nearest word that cannot be part of a name (我, 在, 反映, 那个 …), so "我要反映厂里" gives no
"反映厂" and "跳广场舞" no "跳广场". Adjacent parts are chained into one address
(城关街道阳光花园小区8栋门口); the most specific chain is the address.

Real calls come as ASR text: shops and banks named after the road (红旗路老马烧烤, 城南支行),
districts before what is in them (开发区实验小学), suffixes as the engine hears them (华亭 for
华庭), a blank inside a name (幸福 小区 八栋) and a place said twice, the second time with more
(金桂苑 金桂苑9号楼): the later, longer mention is the address.

A call often names several places. The address is the one that says most closely where the
matter is (_LEVELS): a compound or a village (also one named only by a phase and a building,
滨江壹号 三期 十九栋), then a road with its number, a shop or a facility with its name (东关菜市场
rather than the 东关街 it is on, 李庄加油站 rather than the highway), a bare road or area, and
last a nameless facility or an office (城关派出所, where the matter was reported). How it is said
counts too (_as_said): a place taken back (兴旺路 不对 是新旺路) is dropped, one passed by or
gone to (从农贸市场到第三中学, 离那个中医院三公里) counts as little as a nameless one, and the
caller's own village (我们是前进村七组的) gives way to the shop where the matter happened. A name
said again in a later turn (万家福超市 … 就是北大街万家福) is that place again.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from bot.catalog import Catalog

_AGENCY_SUFFIX = re.compile(r"(?:群众事务)?代理(?:点|站|中心)$")
_AREA_SUFFIX = re.compile(r"(?:社区|街道办事处|街道|办事处|村委会|村|镇|乡|小区)$")
_CN_NUM = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9", "十": "10"}

# ---------------------------------------------------------------------- address grammar
# suffix → (kind, shortest name before it, characters that may not follow it)
_SUFFIXES: dict[str, tuple[str, int, str]] = {}


def _add(kind: str, min_name: int, words: str, reject: str = "") -> None:
    for word in words.split():
        _SUFFIXES[word] = (kind, min_name, reject)


_add("compound", 1, "小区 花园 家园 公寓 大厦 华庭 华府 新城 商城 新村 山庄 家属院 家属楼 宿舍 大院 嘉园 名苑 "
                    "雅苑 公馆 名邸 名都 广场 园区 绿洲 天地 世家 豪庭 雅居 丽都 水岸 半岛", "舞长")
# What an ASR engine writes for those suffixes (华庭 heard as 华亭 or 华廷, 名邸 as 名第).
_add("compound", 2, "华亭 华廷 豪亭 豪廷 名第 花圆", "长")
_add("compound", 2, "名郡 郡 国际 名居 佳居 新居", "长贸化关友象学机旅")
_add("compound", 2, "苑 园 府 湾 城 庭 邸", "长丁艺林区管市面子外边头")
_add("compound", 2, "院", "长子里内士办校落墙")       # 家属院, and 苑 as ASR hears it
_add("road", 2, "大道 大街 路 街 巷 胡同", "灯面费线况由演数人子过道坊费牌标障政")
_add("road", 2, "国道 省道 县道 乡道 公路 高速", "费发度运")
_add("admin", 2, "社区 街道 县 镇 乡", "长民下亲干委政府里")
_add("village", 2, "村 屯 寨 庄", "民长干支主委务稼口头边")
_add("landmark", 0, "超市 便利店 商店 商场 菜市场 农贸市场 市场 学校 小学 中学 高中 大学 幼儿园 医院 卫生院 "
                    "卫生室 诊所 药店 车站 汽车站 火车站 高铁站 地铁站 公交站 加油站 银行 饭店 酒店 宾馆 旅馆 "
                    "餐馆 饭馆 烧烤店 网吧 酒吧 公园 体育馆 图书馆 博物馆 文化馆 科技馆 客运站 派出所 政府 村委会 居委会 街道办 仓库 工地 "
                    "码头 停车场 菜场 浴室 驾校 库房 冷库 车间 营业厅 卫生间 公厕 垃圾站 养殖场 工业园 厂房 工厂 街道办事处 "
                    "办事处 管委会",
     "监价经化营销部卡长员主")
# Shops, banks and markets named by their own name (老马烧烤, 星光KTV, 城南支行, 南门夜市): the
# name is needed, so a bare 吃烧烤 or 去夜市 names no place.
_add("landmark", 2, "烧烤 火锅 烤鱼 大排档 KTV ktv 歌厅 舞厅 酒楼 茶楼 棋牌室 足浴 会所 影院 电影院 网咖 台球厅 健身房 "
                    "夜市 早市 集市 支行 分行 分理处 储蓄所 信用社 营业部 营业所", "味烟底料摊长员主")
_add("landmark", 2, "驿站 收费站 服务区 站 局 水库 池塘 河道 河堤 水渠", "长员主着住在起立岗点面")
_add("landmark", 2, "厂 店 桥 场 馆 厅", "家长商主员梁子景所景局级里内")
_add("landmark", 2, "中心", "小")
# A hospital's wings (仁和医院住院部三楼) and passages under a road (光明大道下穿通道).
_add("landmark", 0, "住院部 门诊部 门诊楼 住院楼 急诊科 急诊室", "长主")
_add("landmark", 2, "通道 隧道 地道 涵洞 桥洞", "长口")
# Districts and development zones: a place by themselves, and the prefix of what follows
# (开发区实验小学, 高新区管委会).
_add("district", 0, "开发区 高新区 经开区 新区 老城区 城区 工业区 保税区", "长委域")
# Common words that end like a place word but name none (离开现场, 当场, 立场).
_NOT_PLACES = set("现场 当场 在场 到场 立场 下场 出场 收场 上场 开场 散场 退场 登场 官场 排场 冷场 "
                  "网站 出院 住院 入院 转院 格局 布局 结局 当局 骗局 出局 大局 全局 饭局 "
                  "消防通道 安全通道 绿色通道 应急通道 逃生通道 人行通道".split())

# Facilities a county has one of: said bare they still name a place (高铁站出站口).
_ONE_OF_A_KIND = set("火车站 高铁站 汽车站 客运站 体育馆 图书馆 博物馆 文化馆 科技馆 会展中心 体育中心".split())
# How closely a part alone says where the matter is, when a call names several places: a
# compound or a village is where people live and what the workers know; a road with its number
# is an exact address (青年路八十八号); a shop or a facility said with its name is found by the
# name (东关菜市场, 李庄加油站); a bare road, a town or a community only narrows it down; a
# facility without its name (中医院), a district or a highway (幺零三省道) even less; an office
# (派出所, 乡政府) is where people go about a matter, seldom where it is. Area data rank with a
# named facility.
_LEVELS = {"compound": 4, "village": 4, "area": 3, "road": 2, "admin": 2, "district": 1}
_NAMED, _NAMELESS, _OFFICE, _HIGHWAY, _NUMBERED_ROAD = 3, 1, 0.5, 1, 3.5
_HIGHWAYS = set("国道 省道 县道 乡道 公路 高速".split())
_OFFICES = set("派出所 公安局 政府 村委会 居委会 街道办 街道办事处 办事处 管委会 局 法院".split())
_SUFFIX_RE = re.compile("|".join(sorted(map(re.escape, _SUFFIXES), key=len, reverse=True)))
_NAMECH = re.compile(r"[\u4e00-\u9fffA-Za-z0-9*＊×※○●〇]")
_MAX_NAME = 8
# Words that end a name when reading leftwards: pronouns, verbs, time words, fillers.
_STOP_WORDS = (
    "我们 你们 他们 她们 咱们 俺们 大家 自己 我家 俺家 他家 她家 咱家 你家 老家 回家 家里 家住 这里 那里 哪里 "
    "这边 那边 这儿 那儿 这个 那个 哪个 这家 那家 一家 这条 那条 哪条 一条 这座 那座 一座 这片 那片 这所 那所 "
    "这间 那间 这块 那块 一个 一下 一直 一些 一点 就是 还是 但是 可是 因为 所以 然后 "
    "现在 今天 昨天 前天 明天 晚上 早上 上午 下午 中午 半夜 凌晨 每天 天天 经常 总是 老是 已经 刚才 刚刚 马上 反映 "
    "反应 投诉 举报 咨询 请问 您好 你好 麻烦 帮忙 附近 旁边 对面 门口 楼下 楼上 里面 外面 后面 前面 隔壁 周边 周围 "
    "一带 位于 地址 地点 住在 开的 新开 路过 经过 出门 上班 下班 走到 跑到 送到 说是 听说 知道 觉得 发现 看到 看见 "
    "听到 闻到 离开 注意 方向 靠近 掉进 掉到 一股 一顿 一起 吃了 去吃 还有 没有 不是 什么 怎么 问题 事情 情况 "
    "屋里 心里 手里 夜里 厂里 店里 院里 楼里 城里 村里 里头 物业 楼盘 "
    "小区 社区 孩子 小孩 儿子 女儿 孙子 孙女 老人 广场舞 老百姓 居民 业主 村民 群众 市民 工作 附近的 整个 全部 所有 各个 全村 全县 全镇 风一吹 "
    "我 你 他 她 它 俺 咱 您 们 的 了 在 是 有 就 都 也 还 要 说 把 被 从 给 对 那 这 哪 个 啊 呀 吧 呢 嘛 么 "
    "哦 嗯 喂 哎 唉 呃 去 到 过 往 坐 乘 回 跟 与 或 住 让 叫 找 想 没 不 很 又 再 才 只 刚 能 跳 打 骂 冒 着 得 搞 弄 该 每 其 此 靠").split()
_STOP = re.compile("|".join(sorted(map(re.escape, _STOP_WORDS), key=len, reverse=True)))
_GENERIC_NAMES = set("老 新 大 小 旧 县 市 该 本 农 全 同 邻 山 乡 渔 城 马 道 走 一 二 上 下 前 后 左 右".split()) | {
    "公", "菜", "果", "桃", "竹", "花", "家", "商", "工", "校", "医", "门", "楼", "街", "路"}
_NUM = r"[0-9０-９一二三四五六七八九十两百零〇幺]+"
_ROOM_DIGITS = "零〇幺一二三四五六七八九"          # a room said digit by digit: 五零二
_DETAIL_RE = re.compile(rf"(?:(?:[A-Za-z]|[东西南北中])(?:区|座)(?![\u4e00-\u9fff]{{0,1}}[长域别])|"
                        rf"(?<![月\d0-9０-９])负?{_NUM}[ \t]?(?:号楼|号院|号门|号路|号街|号巷|号(?!线|码|上午|下午|晚上|早上|中午|凌晨|那天|当天|开始|之前|以后|到|前|后|晚|早|左右)"
                        rf"|栋|幢|座|单元|层|楼(?!盘)|室|组|队|期))"
                        rf"(?:[ \t]?(?:[0-9０-９]{{3,4}}(?![0-9０-９])|[{_ROOM_DIGITS}]{{3,4}}(?![{_ROOM_DIGITS}]))[室房号]?)?")
# A building (or a phase and a building) said after a name that has no place word: the name is
# the compound's (滨江壹号 三期 十九栋; not 地铁三期, a project's phase).
_BUILDING = re.compile(rf"(?:{_NUM}[ \t]?期[ \t]?)?{_NUM}[ \t]?(?:栋|幢|座|号楼|号院)")
_SIDE_RE = re.compile(r"天台|顶楼|[东西南北中]段|路段|大门口|门口|大门|东门|西门|南门|北门|后门|侧门|楼下|楼上|楼道|楼顶|附近|对面|旁边|边上|隔壁|"
                      r"出站口|进站口|出口|入口|十字路口|丁字路口|交叉口|交汇处|交界处|交界|路口|村口|村头|村边|村东头|村西头|村南头|村北头|东侧|西侧|南侧|北侧|东边|西边|南边|北边|后面|前面|里面|拐角|一带|周边")
# Schools by their number (县二中, 市一中, 三小): only where nothing else follows 中 / 小.
_SCHOOL_RE = re.compile(r"[县市区镇乡]?[一二三四五六七八九十]{1,3}[中小]"
                        r"(?=$|[^\u4e00-\u9fff]|[的门旁对附那这里外初高老上读念])")
_JOIN = re.compile(r"[ \t]*(?:与|和|跟|、|/|同)[ \t]*")
_CN_SENTENCE_PUNCT = "，。,.！!？?；;：:、\n"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str        # compound | road | admin | village | landmark | detail | side | area
    level: float = 0.0   # how closely the part alone says where (see _LEVELS)


@dataclass
class Chain:
    start: int
    end: int
    text: str
    kinds: list[str] = field(default_factory=list)
    landmark: str | None = None
    level: float = 0.0

    def add(self, span: Span) -> None:
        self.kinds.append(span.kind)
        self.level = max(self.level, span.level)
        if span.kind == "detail" and "road" in self.kinds:
            self.level = max(self.level, _NUMBERED_ROAD)     # 青年路八十八号

    @property
    def specific(self) -> bool:
        """Names a street, compound, village or area (a district only as the prefix of more)."""
        parts = [k for k in self.kinds if k != "side"]
        return any(k in ("compound", "road", "admin", "village", "area") for k in parts) or (
            "district" in parts and len(parts) > 1)

    @property
    def rank(self) -> tuple:
        parts = len([k for k in self.kinds if k != "side"])
        return (self.level, "area" in self.kinds, parts)

    @property
    def kind(self) -> str:
        if self.specific or "district" in self.kinds:
            return "address"
        return "landmark" if "landmark" in self.kinds else "detail"


def _name_start(text: str, pos: int) -> int:
    """Where the name of a place word ending at `pos` begins: read leftwards over name
    characters, then cut after the last word that cannot be part of a name."""
    j = pos
    while j > 0 and pos - j < _MAX_NAME and _NAMECH.match(text[j - 1]):
        j -= 1
    run = text[j:pos]
    cut = 0
    for m in _STOP.finditer(run):
        cut = m.end()
    while cut < len(run) and run[cut].isdigit():    # 阳光100小区 keeps its digits, 3栋小区 not
        cut += 1
    return j + cut


_BUS = re.compile(r"[ \t]?(?:公交|车|汽车|班车|巴士|线)")
_BUS_ROUTE = re.compile(rf"{_NUM}路[ \t]?(?:公交|车|汽车|班车|巴士)")
# Place words after which an ASR blank is a pause inside the name (幸福 小区, 李家 湾村).
_PAUSED = ("compound", "road", "village")
_ENDS_PLACE = re.compile(f"(?:{_SUFFIX_RE.pattern})$")     # 铁路 铁路小区: a place said twice
_BEGINS_NAME = re.compile(f"[\u4e00-\u9fff]{{1,3}}?(?:{_SUFFIX_RE.pattern})")   # 城|南新城
_ENDS_FACILITY = re.compile("(?:{})$".format("|".join(w for w, (k, _, _) in _SUFFIXES.items()
                                                     if k == "landmark" and len(w) >= 2)))


def _name_over_blank(text: str, start: int) -> int:
    """A name too short for its place word goes on over one blank before it, as an ASR
    engine leaves between the parts of a name said with a pause."""
    if start >= 2 and text[start - 1] in " \t\u3000" and _NAMECH.match(text[start - 2]) \
            and not _ENDS_PLACE.search(text, 0, start - 1):
        wider = _name_start(text, start - 1)
        if start - 1 - wider >= 2:
            return wider
    return start


def _not_a_place(text: str, end: int) -> bool:
    return any(text.startswith(word, end - len(word)) for word in _NOT_PLACES)


def _level(kind: str, word: str, name: str) -> float:
    if kind == "landmark":
        if word in _OFFICES:
            return _OFFICE
        # before 店, 厂, 桥 two characters are mostly the trade (理发店, 铁路桥), not a name
        # nor is another place word a name (小学工地, 医院食堂): that is a nameless one
        named = len(name) >= (3 if len(word) == 1 else 2) and name not in _GENERIC_NAMES \
            and name not in _SUFFIXES
        return _NAMED if named else _NAMELESS
    if kind == "road" and word in _HIGHWAYS:
        return _HIGHWAY
    return _LEVELS.get(kind, 0)


def find_spans(text: str) -> list[Span]:
    """Every place part said in `text`, as character spans."""
    spans: list[Span] = []
    names: dict[str, Span] = {}          # the own names of shops and compounds (万家福 of 万家福超市)
    for m in _SUFFIX_RE.finditer(text):
        word = m.group(0)
        kind, min_name, reject = _SUFFIXES[word]
        nxt = text[m.end():m.end() + 1]
        if nxt and nxt in reject or _not_a_place(text, m.end()):
            continue
        start = _name_start(text, m.start())
        name = text[start:m.start()]
        if kind in _PAUSED and name == "" and len(word) == 1 and _BEGINS_NAME.match(text, m.end()):
            continue                      # 城南 城南新城: the second 城 begins a name
        if kind in _PAUSED and (len(name) < min_name or name in _GENERIC_NAMES):
            start = _name_over_blank(text, start)
            name = re.sub(r"\s", "", text[start:m.start()])
        if kind == "road" and re.fullmatch(_NUM, name) and (_BUS.match(text, m.end()) or _BUS_ROUTE.search(text)):
            continue                      # 十八路公交车, or 十九路 in a call about a bus (八一路 is a road)
        if name in _GENERIC_NAMES and kind != "landmark":
            name, start = "", m.start()
        if kind == "compound" and len(word) == 1 and _ENDS_FACILITY.search(name):
            continue                      # 农商银行城南支行: 城 begins the next word
        if kind == "landmark" and name == "" and word not in _ONE_OF_A_KIND:
            continue                      # 学校门口, 医院: which one is not said
        if len(name) < min_name and not (kind == "compound" and re.fullmatch(r"[*＊×※○●]+", name or "x")) \
                and not (name and name in "东西南北中" and word in ("街", "大街")):     # 东街, 北大街
            if kind == "landmark" and min_name == 0:
                pass
            elif len(word) >= 2 and kind in ("compound", "admin") and name == "" and min_name <= 1:
                continue                  # a bare 小区 / 社区 says nothing
            else:
                continue
        span = Span(start, m.end(), kind, _level(kind, word, name))
        spans.append(span)
        if kind in ("compound", "landmark") and span.level >= _NAMED and len(re.sub(r"\W|\d", "", name)) >= 2:
            names.setdefault(name, span)      # (a masked name, ****, is no name to find again)
    spans += [Span(m.start(), m.end(), "landmark", _NAMED) for m in _SCHOOL_RE.finditer(text)]
    places = {s.end for s in spans}
    for m in _DETAIL_RE.finditer(text):
        spans.append(Span(m.start(), m.end(), "detail"))
        if _BUILDING.match(text, m.start()):
            spans += _compound_before(text, m.start(), places)
    spans += [Span(m.start(), m.end(), "side") for m in _SIDE_RE.finditer(text)]
    return spans + _names_said_again(text, names, spans)


def _compound_before(text: str, pos: int, places: set[int]) -> list[Span]:
    """The name before a phase or a building (滨江壹号 三期) as a compound's, when it is no
    other place part, has no word that cannot be part of a name, and does not follow a place
    (丽水湾小区 沿街商铺 二号楼: the building is the compound's)."""
    start = _name_start(text, pos)
    if pos - start < 2:
        start = _name_over_blank(text, start)
    name = re.sub(r"\s", "", text[start:pos])
    own = re.sub(rf"{_NUM}号$", "", name)         # 金沙一号 二期: a compound named by a number
    if len(own) < 2 or own in _GENERIC_NAMES or re.fullmatch(_NUM, own) or _ENDS_PLACE.search(own) \
            or _DETAIL_RE.search(own) or _SIDE_RE.search(name) or len(text[:start].rstrip(" \t")) in places:
        return []
    return [Span(start, start + len(text[start:pos].rstrip()), "compound", _LEVELS["compound"])]


def _names_said_again(text: str, names: dict[str, Span], spans: list[Span]) -> list[Span]:
    """A shop or a compound named once with its place word and again without it, right after
    another part (万家福超市 … 北大街万家福): the second mention is that place too."""
    ends = {s.end for s in spans}
    out = []
    for name, source in names.items():
        for m in re.finditer(re.escape(name), text):
            before = len(text[:m.start()].rstrip(" \t"))
            if before in ends and not any(s.start < m.end() and m.start() < s.end for s in spans):
                out.append(Span(m.start(), m.end(), source.kind, source.level))
    return out


def chains(text: str, spans: list[Span]) -> list[Chain]:
    """Adjacent parts joined into addresses (a part may overlap the next: 阳光花园 | 小区)."""
    out: list[Chain] = []
    current: Chain | None = None
    last_kind = ""
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if current is not None:
            gap = text[current.end:span.start] if span.start > current.end else ""
            # the place said again after a pause (文化路 文化路社区; 东风小区3栋 东风小区3栋对吧)
            said_again = gap != "" and (text[current.start:current.end] in text[span.start:span.end] or (
                span.kind not in ("detail", "side") and text[span.start:span.end] in text[current.start:current.end]))
            # a number alone (一号) is no part of the place named after a pause
            new_place = gap != "" and set(current.kinds) == {"detail"} and span.kind not in ("detail", "side")
            joined = span.start <= current.end or gap.strip(" \t") == "" and not said_again and not new_place or (
                gap == "的" and span.kind in ("detail", "side")) or (
                last_kind in ("road", "area") and span.kind in ("road", "area") and _JOIN.fullmatch(gap))
            if joined and not (span.kind == "side" and "side" in current.kinds and span.start >= current.end):
                if span.end > current.end:
                    current.end = span.end
                current.add(span)
                if span.kind == "landmark" and current.landmark is None:
                    current.landmark = text[span.start:span.end]
                last_kind = span.kind
                continue
            out.append(current)
            current = None
        if span.kind == "side":
            continue                      # 门口 alone is nobody's address
        current = Chain(span.start, span.end, "", [],
                        text[span.start:span.end] if span.kind == "landmark" else None)
        current.add(span)
        last_kind = span.kind
    if current is not None:
        out.append(current)
    for chain in out:
        chain.text = text[chain.start:chain.end].strip()
        if chain.landmark:
            side = _SIDE_RE.match(text, text.find(chain.landmark, chain.start) + len(chain.landmark))
            if side:
                chain.landmark += side.group(0)
    return [c for c in out if c.text]


# How a place is said around it: taken back (兴旺路 不对 是新旺路), passed by or gone to
# (从农贸市场到第三中学, 离那个中医院三公里, 送到医院), or as who the caller is (我们是前进村七组的).
_CORRECTED = re.compile(r"[ \t，,。]*(?:不对|不是|说错了|错了|哦不)[ \t，,]*(?:不对[ \t，,]*)?(?:应该)?是")
_PASSING = re.compile(r"(?:从|(?<![看听闻遇找想感收得做办说碰见受])到|离|去|往|前往|距离)了?"
                      r"(?:那个|这个|那|这)?[ \t]*\Z")
_IDENTITY = re.compile(r"(?:我们|我|俺们|俺|咱们|咱)家?都?是")
_IDENTITY_END = re.compile(r"的(?:人|居民|村民|业主|住户)?(?![\u4e00-\u9fffA-Za-z0-9])")  # …七组的, not …小区的物业
_CLAUSE_START = re.compile(r"[，,。.！!？?；;：:\n][^，,。.！!？?；;：:\n]*\Z")
_IDENTITY_LEVEL = 2.5        # below a shop named where the matter happened (宏发农资店 买的)


def _as_said(text: str, found: list[Chain]) -> list[Chain]:
    """The chains that may be the address, their levels weighed by how each is said: a place
    taken back is dropped, so is a shorter mention of a place said more fully elsewhere
    (美食街, 南湖美食街); one passed by or gone to counts as little as a nameless one, one said
    as who the caller is less than a named shop."""
    def plain(chain: Chain) -> str:
        return re.sub(r"\s", "", chain.text)

    found = [c for c in found if not _CORRECTED.match(text, c.end)]
    kept = [c for c in found if not any(len(plain(o)) > len(plain(c)) and plain(c) in plain(o)
                                        and o.level >= c.level for o in found)]
    for chain in kept:
        clause = _CLAUSE_START.search(text, 0, chain.start)
        clause = text[clause.start() + 1 if clause else 0:chain.start]
        if _PASSING.search(clause[-12:]):
            chain.level = min(chain.level, _NAMELESS)
        elif _IDENTITY.search(clause) and _IDENTITY_END.match(text, chain.end):
            chain.level = min(chain.level, _IDENTITY_LEVEL)
    return kept


@dataclass(frozen=True)
class PlaceHit:
    area: str
    text: str
    start: int
    end: int


@dataclass
class Place:
    area: str | None = None          # area code (grid, point or station)
    area_name: str | None = None     # 文化路社区
    address: str | None = None       # free text as said: 文化路28号楼下
    landmark: str | None = None      # 烧烤店, 实验小学门口
    matched: str | None = None       # the spelling that matched the area data

    def to_dict(self) -> dict:
        return asdict(self)


class PlaceMatcher:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        spellings: dict[str, set[str]] = {}
        for area in catalog.areas.values():
            if area.tier == "center":
                continue
            for spelling in self._spellings(area.code):
                spellings.setdefault(spelling, set()).add(area.code)
        self.spellings = {s: self._common_ancestor(codes) for s, codes in spellings.items()}
        self.spellings = {s: c for s, c in self.spellings.items() if c != catalog.center.code}
        alternatives = sorted(self.spellings, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None

    # ------------------------------------------------------------------ spellings
    def _base_spellings(self, code: str) -> set[str]:
        area = self.catalog.areas[code]
        out: set[str] = set()
        official = {_AGENCY_SUFFIX.sub("", n.strip()) for n in (area.place, area.name)}
        for name in official | {n.strip() for n in area.names}:
            if not name:
                continue
            out.add(name)
            # Cores only of official names: an alias such as 文化社区 would give a plain word.
            core = _AREA_SUFFIX.sub("", name)
            if name in official and len(core) >= 2:
                out.add(core)
        return out

    def _spellings(self, code: str) -> set[str]:
        area = self.catalog.areas[code]
        out = self._base_spellings(code)
        if area.tier == "grid" and area.parent:
            parent_names = sorted(self._base_spellings(area.parent), key=len, reverse=True)
            own = next((p for p in parent_names if area.name.startswith(p)), None)
            if own:
                suffix = area.name[len(own):]
                suffixes = {suffix, suffix.lstrip("第")}
                suffixes |= {re.sub("[一二三四五六七八九十]", lambda m: _CN_NUM[m.group(0)], s) for s in suffixes}
                out |= {p + s for p in parent_names for s in suffixes if s}
        return {s for s in out if len(s) >= 2}

    def _common_ancestor(self, codes: set[str]) -> str:
        lineages = [[a.code for a in self.catalog.lineage(c)] for c in codes]
        for code in lineages[0]:
            if all(code in lineage for lineage in lineages[1:]):
                return code
        return self.catalog.center.code

    # ------------------------------------------------------------------ matching
    def hits(self, text: str) -> list[PlaceHit]:
        if not self._pattern or not text:
            return []
        return [PlaceHit(self.spellings[m.group(0)], m.group(0), m.start(), m.end())
                for m in self._pattern.finditer(text)]

    def best_area(self, hits: list[PlaceHit]) -> str | None:
        """The deepest area that most mentions agree on (a street and a community in it
        support the community); ties go to the deeper tier, then to the first mentioned."""
        if not hits:
            return None
        first: dict[str, int] = {}
        for i, hit in enumerate(hits):
            first.setdefault(hit.area, i)
        tiers = ("station", "point", "grid")

        def score(code: str) -> tuple:
            lineage = {a.code for a in self.catalog.lineage(code)}
            support = sum(1 for h in hits if h.area in lineage)
            return (support, tiers.index(self.catalog.areas[code].tier), -first[code])

        return max(first, key=score)

    def find(self, text: str | None) -> Place:
        """The address said in `text` (the most specific chain of place parts) and the area."""
        text = text or ""
        hits = self.hits(text)
        spans = find_spans(text)
        # an area inside a shop's or an office's name (城关派出所, 城东客运站) is not where it is
        inside = [s for s in spans if s.kind == "landmark"]
        spans += [Span(h.start, h.end, "area", _LEVELS["area"]) for h in hits
                  if not any(s.start <= h.start and h.end < s.end for s in inside)]
        found = _as_said(text, chains(text, spans))
        place = Place()
        if found:
            best = max(enumerate(found), key=lambda ic: (ic[1].rank, -ic[0]))[1]
            place.address = best.text
            landmark = best if best.landmark else next((c for c in found if c.landmark), None)
            place.landmark = landmark.landmark if landmark else None
        code = self.best_area(hits)
        if code:
            area = self.catalog.areas[code]
            hit = next(h for h in hits if h.area == code)
            place.area, place.area_name, place.matched = code, area.place or area.name, hit.text
        return place
