"""Exceptions of the identity domain; the entrypoint maps them to gRPC status codes in one place."""

from __future__ import annotations


class IdentityError(Exception):
    """Base of every error this service raises on purpose."""


class InvalidInput(IdentityError):
    """A caller-supplied field cannot be used at all (unparseable, too large, wrong type).

    `field` names the request field so the entrypoint can build a `BadRequest` field violation;
    `reason` is a stable machine code, `message` is for humans.
    """

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = reason
        self.message = message


class FailedPrecondition(IdentityError):
    """The service is not in a state to answer, e.g. no trust list has been loaded yet."""
