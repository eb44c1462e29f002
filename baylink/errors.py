"""Domain errors, shared by every service.

Domains raise these; they import nothing of gRPC. One interceptor
(``baylink.runtime.grpc.errors``) maps them to gRPC status codes with
``google.rpc`` details, and the gateway maps those codes to HTTP statuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: ``field`` is a dotted path, ``description`` says why."""

    field: str
    description: str


@dataclass(frozen=True)
class PreconditionViolation:
    """A state that forbids the operation (``type`` e.g. ``STATE``, ``subject`` what is in it)."""

    type: str
    subject: str
    description: str


class BaylinkError(Exception):
    """Base of every domain error.

    ``reason`` is a stable UPPER_SNAKE machine code (``google.rpc.ErrorInfo.reason``);
    ``metadata`` adds facts a client may act on. Neither may carry personal data.
    ``retry_after_seconds``, when set, tells the caller when to try again (``google.rpc.RetryInfo``):
    any "try later" error may carry it, most often RESOURCE_EXHAUSTED and UNAVAILABLE.
    """

    default_reason = "ERROR"
    retry_after_seconds: float | None = None

    def __init__(self, message: str, *, reason: str | None = None, metadata: Mapping[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata: dict[str, str] = dict(metadata or {})


class InvalidInput(BaylinkError):
    default_reason = "INVALID_INPUT"

    def __init__(self, message: str, violations: Sequence[FieldViolation] = (), *, reason: str | None = None):
        super().__init__(message, reason=reason)
        self.violations = list(violations)

    @classmethod
    def field(cls, field: str, description: str) -> InvalidInput:
        """The common case: exactly one bad field."""
        return cls(f"{field}: {description}", [FieldViolation(field, description)])


class NotFound(BaylinkError):
    default_reason = "NOT_FOUND"

    def __init__(self, resource_type: str, resource_name: str, message: str | None = None):
        super().__init__(message or f"{resource_type} {resource_name!r} not found")
        self.resource_type = resource_type
        self.resource_name = resource_name


class AlreadyExists(BaylinkError):
    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(BaylinkError):
    default_reason = "FAILED_PRECONDITION"

    def __init__(self, message: str, violations: Sequence[PreconditionViolation] = (), *, reason: str | None = None):
        super().__init__(message, reason=reason)
        self.violations = list(violations)


class Aborted(BaylinkError):
    """A concurrency conflict: the caller may retry the whole operation."""

    default_reason = "ABORTED"


class PermissionDenied(BaylinkError):
    default_reason = "PERMISSION_DENIED"


class Unauthenticated(BaylinkError):
    default_reason = "UNAUTHENTICATED"


class ResourceExhausted(BaylinkError):
    default_reason = "RESOURCE_EXHAUSTED"

    def __init__(
        self,
        message: str,
        *,
        subject: str = "",
        retry_after_seconds: float | None = None,
        reason: str | None = None,
    ):
        super().__init__(message, reason=reason)
        self.subject = subject
        self.retry_after_seconds = retry_after_seconds


class Unavailable(BaylinkError):
    """A dependency is down; the caller should try later."""

    default_reason = "UNAVAILABLE"
