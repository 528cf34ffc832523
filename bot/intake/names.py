"""How to address the caller: surname + 先生/女士 (王女士), from what is said in the call.

Sources, most trusted first: a speaker label (王先生：…), the caller introducing themself
(我姓王 / 免贵姓王 / 我是王女士 / 我叫王建国), the operator addressing them (好的王女士).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

# Common Chinese surnames (compound ones first so they win); language data, not county data.
_COMPOUND = "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 令狐 夏侯 长孙 宇文 司徒 端木 独孤 南宫 西门 申屠 轩辕".split()
_SINGLE = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
           "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
           "戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮"
           "柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉"
           "缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇"
           "桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位"
           "厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏"
           "鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯"
           "元束檀衣信展阴昝智幸奉植衡富尧闭由")
SURNAME = "(?:" + "|".join(_COMPOUND) + "|[" + _SINGLE + "])"
_MALE = "先生|大爷|大哥|大叔|师傅|爷爷|老汉|老爷子|同志"
_FEMALE = "女士|小姐|阿姨|大妈|大姐|大婶|奶奶|老太太|婶子|嫂子"
_TITLE = f"(?:{_MALE}|{_FEMALE})"

_LABEL = re.compile(rf"(?P<s>{SURNAME})(?P<t>{_TITLE})")
_SELF = [
    re.compile(rf"(?:我|俺|本人)(?:是|叫|姓)(?P<s>{SURNAME})(?P<t>{_TITLE})"),
    re.compile(rf"(?:来电人|来电者|市民|群众|居民|村民|反映人|投诉人|用户)(?P<s>{SURNAME})(?P<t>{_TITLE})"),
    re.compile(rf"(?:我|俺|本人)叫(?P<s>{SURNAME})(?P<g>[\u4e00-\u9fa5]{{1,2}}?)(?=[，。,.！!？?\s]|$|吧|啊)"),
    re.compile(rf"(?:免贵|我|俺|本人)姓(?P<s>{SURNAME})"),
    # the bare answer to 您贵姓: '姓王。' at the start of a sentence
    re.compile(rf"(?:^|(?<=[，。,.！!？?\s]))(?:嗯|哦|噢)?[，,]?姓(?P<s>{SURNAME})(?=[，。,.！!？?\s]|$|[^\u4e00-\u9fa5])", re.M),
]
_ADDRESS = re.compile(rf"(?<![\u4e00-\u9fa5])(?P<s>{SURNAME})(?P<t>{_TITLE})|"
                      rf"(?:好的|是|嗯|对|请问|谢谢|感谢|麻烦)(?:您)?[，,]?(?P<s2>{SURNAME})(?P<t2>{_TITLE})")
_SELF_FEMALE = re.compile(r"我(?:是|一个|就是)?(?:个)?(?:女的|女同志|老太太|老太婆|妇女|宝妈|当妈的)")
_SELF_MALE = re.compile(r"我(?:是|一个|就是)?(?:个)?(?:男的|男同志|老头|老头子|老汉)")


@dataclass
class Name:
    surname: str
    title: str | None = None     # '先生' | '女士' | None
    full: str | None = None      # 王建国, when the caller said it

    @property
    def display(self) -> str:
        if self.title:
            return self.surname + self.title
        return self.full or self.surname

    def to_dict(self) -> dict:
        return {**asdict(self), "display": self.display}


def _gender(title: str | None) -> str | None:
    if not title:
        return None
    if re.fullmatch(_MALE, title):
        return "先生"
    if re.fullmatch(_FEMALE, title):
        return "女士"
    return None


def from_label(label: str | None) -> Name | None:
    if not label:
        return None
    m = _LABEL.search(label)
    return Name(m.group("s"), _gender(m.group("t"))) if m else None


def find_name(caller_text: str, operator_text: str = "", labels: list[str] | None = None) -> Name | None:
    label_title = None
    for label in labels or ():
        name = from_label(label)
        if name:
            return name
        titled = re.search(_TITLE, label)   # '女士：' names no surname but says who speaks
        if titled and label_title is None:
            label_title = _gender(titled.group(0))
    name: Name | None = None
    for pattern in _SELF:
        m = pattern.search(caller_text)
        if m:
            groups = m.groupdict()
            name = Name(m.group("s"), _gender(groups.get("t")),
                        m.group("s") + groups["g"] if groups.get("g") else None)
            break
    addressed = [(m.group("s") or m.group("s2"), _gender(m.group("t") or m.group("t2")))
                 for m in _ADDRESS.finditer(operator_text)]
    if name is None and addressed:
        surname, title = addressed[0]
        name = Name(surname, title)
    if name is None:
        return None
    if name.title is None:   # '姓王，王先生' or the operator's '好的王女士'
        said = [(m.group("s"), _gender(m.group("t"))) for m in _LABEL.finditer(caller_text)]
        name.title = next((t for s, t in said + addressed if s == name.surname and t), None)
    if name.title is None:
        name.title = label_title
    if name.title is None:
        if _SELF_FEMALE.search(caller_text):
            name.title = "女士"
        elif _SELF_MALE.search(caller_text):
            name.title = "先生"
    return name
