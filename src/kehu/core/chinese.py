"""Chinese text helpers: simplified forms (OpenCC), pinyin and initials (pypinyin)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin, pinyin

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=1)
def _to_simplified_converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def has_han(text: str) -> bool:
    return bool(_HAN.search(text))


def is_han(char: str) -> bool:
    return bool(_HAN.fullmatch(char))


@lru_cache(maxsize=100000)
def to_simplified(text: str) -> str:
    """Traditional → simplified (張偉 → 张伟); text without Han characters is returned as is."""
    if not has_han(text):
        return text
    return str(_to_simplified_converter().convert(text))


def half_width(text: str) -> str:
    """Full-width letters, digits and punctuation to their ASCII forms (ＡＢＣ１２３ → ABC123)."""
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=20000)
def _syllables(char: str) -> tuple[str, ...]:
    readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    return tuple(dict.fromkeys(readings[0])) if readings else ()


@lru_cache(maxsize=50000)
def _reading(char: str) -> str:
    """The usual reading of one character; per character, because pypinyin costs ~50 µs a call."""
    readings = lazy_pinyin(char, style=Style.NORMAL, errors="ignore")
    return readings[0] if readings else ""


def _rest_readings(han: str) -> list[str]:
    if len(han) > 4:  # longer than a name: let pypinyin use its phrase dictionary
        return list(lazy_pinyin(han, style=Style.NORMAL, errors="ignore"))
    return [reading for reading in map(_reading, han) if reading]


@lru_cache(maxsize=100000)
def pinyin_readings(han: str) -> tuple[str, ...]:
    """Full pinyin without tones ("张三" → ["zhangsan"]).

    The first character is read with every pronunciation it has, because it is usually a surname and
    surnames often take a rare reading (单 is Shàn, 曾 is Zēng): a search for either finds the person.
    """
    han = to_simplified(han)
    if not han:
        return ()
    rest = "".join(_rest_readings(han[1:]))
    heads = _syllables(han[0]) or (_reading(han[0]),)
    return tuple(head + rest for head in heads) or (rest,)


@lru_cache(maxsize=100000)
def pinyin_initials(han: str) -> tuple[str, ...]:
    """Initial letters of each syllable ("张三" → ["zs"]), one entry per reading of the first character."""
    han = to_simplified(han)
    if not han:
        return ()
    rest = "".join(syllable[:1] for syllable in _rest_readings(han[1:]))
    heads = _syllables(han[0]) or (_reading(han[0]),)
    return tuple(dict.fromkeys(head[:1] + rest for head in heads)) or (rest,)
