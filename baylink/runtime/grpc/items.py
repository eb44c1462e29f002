"""One item's error in a bulk call, as its own unary call would have failed.

A bulk RPC (``VerifySignatures``, ``PrepareTransfers``...) answers every item on
its own: a response, or an error status. The error is the very
``google.rpc.Status`` the interceptor would have sent for that item alone (the
one table in ``errors.py``: code, message, ``ErrorInfo`` with the correlation
id, ``BadRequest``/``PreconditionFailure``/... details), carried in a message of
the contract's own that mirrors ``google.rpc.Status`` field for field
(``baylink.common.v1.ItemStatus``). Anything that is not a domain error is
INTERNAL, logged once with the correlation id, exactly as the interceptor does.
"""

from __future__ import annotations

import logging
from typing import Protocol, TypeVar

from google.rpc import status_pb2

from baylink.errors import BaylinkError
from baylink.runtime.grpc.errors import internal_status, to_status

log = logging.getLogger("baylink.grpc.items")
_STATUS_DETAILS_KEY = "grpc-status-details-bin"


class StatusLike(Protocol):
    """Any message with google.rpc.Status's fields 1-3 (code, message, details)."""

    def MergeFromString(self, serialized: bytes) -> int: ...


S = TypeVar("S", bound=StatusLike)


def item_status_bytes(error: BaseException, correlation_id: str | None) -> bytes:
    """The serialized google.rpc.Status of ``error`` as the interceptor would send it for a call."""
    if isinstance(error, BaylinkError):
        status = to_status(error, correlation_id)
    else:
        log.error("unhandled error in a bulk item", exc_info=error, extra={"correlation_id": correlation_id})
        status = internal_status(correlation_id)
    for key, value in status.trailing_metadata:
        if key == _STATUS_DETAILS_KEY:
            return bytes(value)
    bare = status_pb2.Status(code=status.code.value[0], message=status.details)  # pragma: no cover
    return bytes(bare.SerializeToString())  # pragma: no cover


def fill_item_status(target: S, error: BaseException, correlation_id: str | None) -> S:
    """Write the item's error status into ``target`` (an ItemStatus or any message laid out like
    google.rpc.Status): the bytes are the same on the wire, so they are merged in as they are."""
    target.MergeFromString(item_status_bytes(error, correlation_id))
    return target
