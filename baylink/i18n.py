"""Text in the languages the kiosks and partner cities read: one type for every service.

`LocalText` carries 繁體中文, 简体中文 and English and is built with keywords only (the three
fields are all strings, so a positional order would be easy to swap unnoticed). Whether a
language may be left empty is each service's rule, not this type's: `in_` falls back when one is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Language(StrEnum):
    ZH_HANT = "zh-Hant"
    ZH_HANS = "zh-Hans"
    EN = "en"

    @classmethod
    def parse(cls, header: str | None) -> Language:
        """The best match for an Accept-Language style value; English when nothing fits.

        zh-HK, zh-MO and zh-TW mean Traditional; zh-CN, zh-SG and bare zh mean Simplified.
        """
        for part in (header or "").split(","):
            tag = part.split(";")[0].strip().lower()
            if not tag:
                continue
            if tag.startswith("zh"):
                if any(t in tag for t in ("hant", "-hk", "-mo", "-tw")):
                    return cls.ZH_HANT
                return cls.ZH_HANS
            if tag.startswith("en"):
                return cls.EN
        return cls.EN


@dataclass(frozen=True, kw_only=True)
class LocalText:
    zh_hant: str
    zh_hans: str
    en: str

    def in_(self, language: Language) -> str:
        """The text in `language`; when that one is empty, English, then Simplified, then Traditional."""
        text = {Language.ZH_HANS: self.zh_hans, Language.ZH_HANT: self.zh_hant, Language.EN: self.en}[language]
        return text or self.en or self.zh_hans or self.zh_hant
