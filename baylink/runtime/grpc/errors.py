"""Domain errors ⇄ gRPC status, in one table.

Servers turn a ``BaylinkError`` into a status code with ``google.rpc`` details
(``ErrorInfo`` always; ``BadRequest``, ``PreconditionFailure``, ``ResourceInfo``,
``QuotaFailure``/``RetryInfo`` where they apply). Clients turn it back with
``from_rpc_error`` so a service calling another sees the same domain error.
"""

from __future__ import annotations

import grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from baylink import errors as e

DOMAIN = "baylink.gov.gba"

# The one table: domain error → gRPC code. Order matters only for subclasses.
CODES: dict[type[e.BaylinkError], grpc.StatusCode] = {
    e.InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    e.NotFound: grpc.StatusCode.NOT_FOUND,
    e.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    e.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    e.Aborted: grpc.StatusCode.ABORTED,
    e.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    e.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    e.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    e.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def code_for(error: e.BaylinkError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in CODES:
            return CODES[cls]
    return grpc.StatusCode.UNKNOWN


def to_status(error: e.BaylinkError, correlation_id: str | None = None) -> grpc.Status:
    code = code_for(error)
    metadata = dict(error.metadata)
    if correlation_id:
        metadata["correlation_id"] = correlation_id
    details = [error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=metadata)]
    if isinstance(error, e.InvalidInput):
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in error.violations
                ]
            )
        )
    elif isinstance(error, e.FailedPrecondition):
        details.append(
            error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(
                        type=v.type, subject=v.subject, description=v.description
                    )
                    for v in error.violations
                ]
            )
        )
    elif isinstance(error, e.NotFound):
        details.append(
            error_details_pb2.ResourceInfo(
                resource_type=error.resource_type,
                resource_name=error.resource_name,
                description=error.message,
            )
        )
    elif isinstance(error, e.ResourceExhausted):
        details.append(
            error_details_pb2.QuotaFailure(
                violations=[error_details_pb2.QuotaFailure.Violation(subject=error.subject, description=error.message)]
            )
        )
    delay = retry_delay(error)
    if delay is not None:
        retry = duration_pb2.Duration()
        retry.FromNanoseconds(round(delay * 1e9))
        details.append(error_details_pb2.RetryInfo(retry_delay=retry))
    status = status_pb2.Status(code=code.value[0], message=error.message)
    for detail in details:
        status.details.add().Pack(detail)
    return rpc_status.to_status(status)


def retry_delay(error: e.BaylinkError) -> float | None:
    """Seconds the caller should wait before trying again, when the error says (RetryInfo)."""
    delay = error.retry_after_seconds
    return float(delay) if delay is not None and delay >= 0 else None


def internal_status(correlation_id: str | None) -> grpc.Status:
    """What a caller sees of an unexpected failure: no internals, just where to look."""
    info = error_details_pb2.ErrorInfo(
        reason="INTERNAL", domain=DOMAIN, metadata={"correlation_id": correlation_id or ""}
    )
    status = status_pb2.Status(code=code_pb2.INTERNAL, message="internal error; quote the correlation id")
    status.details.add().Pack(info)
    return rpc_status.to_status(status)


def from_rpc_error(error: grpc.RpcError) -> e.BaylinkError:
    """The domain error a peer service raised, rebuilt from its status details."""
    status = rpc_status.from_call(error)
    code = error.code()
    message = status.message if status else (error.details() or code.name)
    reason: str | None = None
    violations: list[e.FieldViolation] = []
    preconditions: list[e.PreconditionViolation] = []
    resource = ("", "")
    delay: float | None = None
    quota_subject = ""
    for any_detail in status.details if status else ():
        for cls in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.PreconditionFailure,
            error_details_pb2.ResourceInfo,
            error_details_pb2.RetryInfo,
            error_details_pb2.QuotaFailure,
        ):
            if any_detail.Is(cls.DESCRIPTOR):
                detail = cls()
                any_detail.Unpack(detail)
                if isinstance(detail, error_details_pb2.ErrorInfo):
                    reason = detail.reason
                elif isinstance(detail, error_details_pb2.BadRequest):
                    violations = [e.FieldViolation(v.field, v.description) for v in detail.field_violations]
                elif isinstance(detail, error_details_pb2.PreconditionFailure):
                    preconditions = [
                        e.PreconditionViolation(v.type, v.subject, v.description) for v in detail.violations
                    ]
                elif isinstance(detail, error_details_pb2.RetryInfo):
                    delay = detail.retry_delay.ToNanoseconds() / 1e9
                elif isinstance(detail, error_details_pb2.QuotaFailure):
                    quota_subject = next((v.subject for v in detail.violations), "")
                else:
                    resource = (detail.resource_type, detail.resource_name)
    rebuilt = _rebuilt(code, message, reason, violations, preconditions, resource, (quota_subject, delay))
    if delay is not None:
        rebuilt.retry_after_seconds = delay  # any "try later" (UNAVAILABLE, ABORTED too) may carry RetryInfo
    return rebuilt


def _rebuilt(
    code: grpc.StatusCode,
    message: str,
    reason: str | None,
    violations: list[e.FieldViolation],
    preconditions: list[e.PreconditionViolation],
    resource: tuple[str, str],
    quota: tuple[str, float | None],
) -> e.BaylinkError:
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return e.InvalidInput(message, violations, reason=reason)
    if code == grpc.StatusCode.NOT_FOUND:
        return e.NotFound(resource[0] or "resource", resource[1], message)
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return e.FailedPrecondition(message, preconditions, reason=reason)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return e.ResourceExhausted(message, subject=quota[0], retry_after_seconds=quota[1], reason=reason)
    for cls, mapped in CODES.items():
        if mapped == code and cls not in (
            e.InvalidInput,
            e.NotFound,
            e.FailedPrecondition,
            e.ResourceExhausted,
        ):
            return cls(message, reason=reason)
    # UNAVAILABLE / DEADLINE_EXCEEDED / INTERNAL and anything else: the peer could not answer.
    return e.Unavailable(f"{code.name}: {message}", reason=reason or code.name)
