"""The language of the current call; the text type and the languages are `baylink.i18n`'s.

`LocalText` and `Language` are re-exported here for the registry's (and its CLI's) existing imports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from baylink.i18n import Language, LocalText

__all__ = ["Language", "LocalText", "current_language", "language_scope", "language_var"]


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
