"""Errors of the identity domain: the shared Baylink hierarchy, with the identity fields.

They subclass ``baylink.errors`` so the one interceptor maps them (INVALID_ARGUMENT with a
``BadRequest`` field violation, FAILED_PRECONDITION) like every other service's errors.
"""

from __future__ import annotations

from baylink import errors


class InvalidInput(errors.InvalidInput):
    """A caller-supplied field cannot be used at all (unparseable, too large, wrong type).

    ``field`` names the request field (the ``BadRequest`` field violation); ``reason`` is a stable
    machine code (``ErrorInfo.reason``); ``message`` is for humans.
    """

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(f"{field}: {message}", [errors.FieldViolation(field, message)], reason=reason)
        self.field = field  # type: ignore[method-assign,assignment]  # the instance names its field; the shared classmethod is for building one
        self.message = message


class FailedPrecondition(errors.FailedPrecondition):
    """The service is not in a state to answer, e.g. no trust list has been loaded yet."""
