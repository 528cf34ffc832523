"""Which written language a resident's message is in, as far as the assistant cares.

The NLU was trained on Mandarin in simplified characters. Messages in English or Cantonese
get an honest reply that the assistant works in 普通话／简体中文 (with a person on offer);
traditional characters are converted to simplified where the actions read the text, with the
table `zhconv` ships (MediaWiki's), so "著火了" is the fire it says.
"""
from __future__ import annotations

import re
import unicodedata

import zhconv

ENGLISH, CANTONESE, TRADITIONAL = "english", "cantonese", "traditional"

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Chat shorthand that Mandarin speakers type in Latin letters: not English.
_SHORTHAND = {"ok", "okk", "okay", "yyds", "xswl", "awsl", "nb", "nmsl", "hhh", "hhhh", "hh",
              "emo", "xdm", "dd", "qwq", "orz", "plz", "pls", "thx", "bb", "kk", "ww", "zz",
              "hi", "hello", "bye", "sos", "app", "wifi", "id", "kfc", "ktv", "atm", "pos",
              "vip", "ai", "sms", "gps", "ic", "cd", "ps", "pm", "am", "qq", "wx", "u1s1", "haha",
              "hehe", "lol", "wow", "omg", "yes", "no", "ohh", "oh", "ah", "en"}
# Written Cantonese: characters and words that Mandarin does not use.
_CANTONESE = re.compile(r"唔|冇|嘅|咗|喺|佢|哋|啲|嘢|嚟|嗰|畀|搵|攞|冚|啱|瞓|諗|谂|乜|咩|點解|点解|"
                        r"點樣|点样|邊度|边度|邊個|边个|係咪|系咪|咁樣|咁样|而家|依家|琴日|尋日|噉|嘈到|"
                        r"唔該|多謝晒|多谢晒|好鬼|揸|睇下|睇吓|問下|問吓")


def simplified(text: str | None) -> str:
    """Traditional characters to simplified ("著火了" → "着火了"); everything else as it was."""
    text = text or ""
    return zhconv.convert(text, "zh-cn") if _CJK.search(text) else text


def traditional_count(text: str) -> int:
    """How many characters of the text are written in traditional form."""
    converted = zhconv.convert(text, "zh-cn")
    return sum(1 for a, b in zip(text, converted) if a != b)


def language_of(text: str | None) -> str | None:
    """ENGLISH, CANTONESE or TRADITIONAL for text the NLU will not read well; None for
    Mandarin in simplified characters, numbers, emoji and chat shorthand."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return None
    if not _CJK.search(text):
        words = [w.lower() for w in _LATIN_WORD.findall(text)]
        english = [w for w in words if w not in _SHORTHAND]
        if len(english) >= 2 or (english and len(english[0]) >= 4 and len(words) == 1):
            return ENGLISH
        return None
    if len(_CANTONESE.findall(text)) >= 2:
        return CANTONESE
    changed = traditional_count(text)
    if changed >= 2 or (changed and len(_CJK.findall(text)) <= 4):
        return TRADITIONAL
    return None
