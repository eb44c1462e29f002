"""Matching a declared name against the name in a certificate's common name.

A personal certificate's CN carries the holder's name in Chinese, English or both
(``陳大文 CHAN Tai Man``, ``CHAN, Tai-man``). The CN is split into its Han characters and its
Latin words; each script the certificate *and* the person both give must match, and at least
one must be compared.

- Latin: NFKC, accents dropped, case folded; every run of non-letters (spaces, commas,
  hyphens, full stops, apostrophes, brackets) separates words. Two names match when they have
  the same words in any order, or the same letters in the same order up to where the words
  break, or when one is the other with its leading words moved to the end (``Tai Man CHAN`` vs
  ``CHAN Taiman``).
- Chinese: NFKC (which also unifies CJK compatibility ideographs), then character by
  character after folding traditional forms to simplified through ``_VARIANTS``.

Limits of the variant table: it is small (common surnames and given-name characters of Hong
Kong and Macau residents, about 120 pairs) and folds one traditional form to one simplified
form. Where a simplified character stands for several traditional ones only the form common in
names is folded (發 → 发, 雲 → 云), so 髮 does not match 发; pairs that are ambiguous in names
(后 for 後/后, 余 for 餘/余, 范 for 範/范, 干 for 乾/幹/干) are left out and must be identical. A few
common variant forms (異體字 such as 峯/峰) are folded too; others are not. Everything outside the
table must be identical, so a certificate spelling a name with a variant the table lacks is
refused as a mismatch (a false refusal, never a false match).
"""

from __future__ import annotations

import re
import unicodedata

from services.gateway.binding.domain.model import DeclaredPerson, Refusal, invalid

_PAIRS = (
    "陳陈張张黃黄劉刘鄭郑關关區区馮冯葉叶楊杨趙赵吳吴譚谭盧卢蘇苏羅罗鍾钟龍龙鄧邓韓韩溫温萬万顏颜賴赖"
    "孫孙錢钱許许謝谢歐欧陸陆蕭萧鄺邝賈贾韋韦鄒邹龔龚嚴严鮑鲍饒饶聶聂簡简齊齐麥麦衛卫蔣蒋鄔邬莊庄湯汤"
    "賀贺馬马華华偉伟國国強强傑杰輝辉賢贤聰聪詩诗儀仪麗丽鳳凤嬌娇愛爱寶宝貴贵榮荣興兴東东開开長长達达"
    "權权雲云瑩莹鴻鸿蓮莲紅红綺绮穎颖曉晓鳴鸣勝胜鋒锋銘铭錦锦鎮镇靜静鈞钧銳锐濤涛潔洁瑋玮燦灿煒炜樂乐"
    "傳传廣广漢汉鵬鹏蘭兰艷艳倫伦綸纶聲声寧宁慶庆祿禄壽寿標标發发峯峰義义軍军萊莱嶺岭憲宪禮礼誠诚"
)
_VARIANTS = {_PAIRS[i]: _PAIRS[i + 1] for i in range(0, len(_PAIRS), 2)}
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_LETTERS = re.compile(r"[^\W\d_]+")


def variant_pairs() -> dict[str, str]:
    """The traditional → simplified folding table (a copy)."""
    return dict(_VARIANTS)


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def han_characters(text: str) -> str:
    """The Han characters of ``text``, NFKC-normalised and folded to simplified where the table knows them."""
    return "".join(_VARIANTS.get(ch, ch) for ch in _HAN.findall(_nfkc(text)))


def latin_words(text: str) -> list[str]:
    """The words of ``text`` outside the Han characters: accents dropped, case folded."""
    decomposed = unicodedata.normalize("NFKD", _HAN.sub(" ", _nfkc(text)))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return [word.casefold() for word in _LETTERS.findall(bare)]


def english_names_match(declared: list[str], certified: list[str]) -> bool:
    """True when two word lists name the same person (see the module docstring)."""
    if sorted(declared) == sorted(certified):
        return True
    joined = "".join(certified)
    return any("".join(declared[i:] + declared[:i]) == joined for i in range(len(declared)))


def check_names(declared: DeclaredPerson, common_name: str) -> None:
    """Refuse (InvalidInput, reason NAME_MISMATCH / NAME_MISSING) unless the declared names match the CN."""
    if not (declared.name_zh and declared.name_zh.strip()) and not (declared.name_en and declared.name_en.strip()):
        raise invalid(Refusal.NAME_MISSING, "declared.name_en", "a name in Chinese or English is required")
    certified_han, certified_words = han_characters(common_name), latin_words(common_name)
    compared = 0
    if declared.name_zh and declared.name_zh.strip():
        zh = han_characters(declared.name_zh)
        if not zh or latin_words(declared.name_zh):
            raise invalid(Refusal.NAME_MISSING, "declared.name_zh", "must be written in Chinese characters")
        if certified_han:
            compared += 1
            if zh != certified_han:
                raise invalid(
                    Refusal.NAME_MISMATCH, "declared.name_zh", "the Chinese name differs from the certificate's"
                )
    if declared.name_en and declared.name_en.strip():
        words = latin_words(declared.name_en)
        if not words or han_characters(declared.name_en):
            raise invalid(Refusal.NAME_MISSING, "declared.name_en", "must be written in Latin letters")
        if certified_words:
            compared += 1
            if not english_names_match(words, certified_words):
                raise invalid(
                    Refusal.NAME_MISMATCH, "declared.name_en", "the English name differs from the certificate's"
                )
    if compared == 0:
        raise invalid(
            Refusal.NAME_MISMATCH,
            "declared.name_zh" if certified_han else "declared.name_en",
            "the certificate names its holder in a script the declared name does not use",
        )
