"""Request-scoped context carried by ``contextvars``.

The gRPC interceptor sets these at the start of a call; logs and events read
them, so a flow can be followed across services by its correlation id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar, Token

correlation_id_var: ContextVar[str | None] = ContextVar("baylink_correlation_id", default=None)
causation_id_var: ContextVar[str | None] = ContextVar("baylink_causation_id", default=None)
traceparent_var: ContextVar[str | None] = ContextVar("baylink_traceparent", default=None)


def new_id() -> str:
    return str(uuid.uuid4())


def current_correlation_id() -> str | None:
    return correlation_id_var.get()


@contextmanager
def correlation_scope(
    correlation_id: str | None, *, causation_id: str | None = None, traceparent: str | None = None
) -> Iterator[str]:
    """Run a block under a correlation id (a new one when none is given)."""
    cid = correlation_id or new_id()
    tokens = (
        correlation_id_var.set(cid),
        causation_id_var.set(causation_id),
        traceparent_var.set(traceparent),
    )
    try:
        yield cid
    finally:
        _reset(traceparent_var, tokens[2])
        _reset(causation_id_var, tokens[1])
        _reset(correlation_id_var, tokens[0])


def _reset(var: ContextVar[str | None], token: Token[str | None]) -> None:
    # ValueError: the scope is closed in another context than it was opened in (a streaming call's
    # generator finalised after its client went away); that context never saw our values.
    with suppress(ValueError):
        var.reset(token)
