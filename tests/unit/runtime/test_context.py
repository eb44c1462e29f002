"""Correlation scopes: values inside, restored after, and a scope closed in another context is harmless."""

from __future__ import annotations

import contextvars

from baylink.runtime.context import correlation_scope, current_correlation_id


def test_scope_sets_and_restores() -> None:
    with correlation_scope("outer"):
        with correlation_scope(None) as inner:
            assert current_correlation_id() == inner != "outer"
        assert current_correlation_id() == "outer"
    assert current_correlation_id() is None


def test_scope_closed_in_another_context_leaves_both_contexts_alone() -> None:
    # What a cancelled streaming call does: its generator is finalised from another context.
    scope = correlation_scope("stream-1")
    opened = contextvars.copy_context()
    assert opened.run(scope.__enter__) == "stream-1"
    assert opened.run(current_correlation_id) == "stream-1"
    scope.__exit__(None, None, None)  # no ValueError from ContextVar.reset
    assert current_correlation_id() is None
