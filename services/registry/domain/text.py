"""Text in the languages the kiosks and partner cities read, and the language of the current call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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


@dataclass(frozen=True)
class LocalText:
    zh_hans: str
    zh_hant: str
    en: str

    def in_(self, language: Language) -> str:
        text = {Language.ZH_HANS: self.zh_hans, Language.ZH_HANT: self.zh_hant, Language.EN: self.en}[language]
        return text or self.en or self.zh_hans or self.zh_hant


language_var: ContextVar[Language] = ContextVar("registry_language", default=Language.EN)


@contextmanager
def language_scope(language: Language) -> Iterator[None]:
    """Errors raised inside the block speak ``language`` (the caller's)."""
    token = language_var.set(language)
    try:
        yield
    finally:
        language_var.reset(token)


def current_language() -> Language:
    return language_var.get()
