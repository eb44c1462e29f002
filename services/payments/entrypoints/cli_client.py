"""How `baylink payments` reaches the running service: the target, one channel, errors as one line.

A command is a handful of calls and then exits, so the blocking stub is enough here. Exit codes
are the operator CLI's (docs/operators.md): 1 refused or not found (unknown participant, a state
that forbids it), 2 usage (an invalid amount, currency or option; the service not reachable).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import grpc
import typer
from pydantic import ValidationError

from baylink import errors
from baylink.payments.v1 import payments_service_pb2_grpc as api_grpc
from baylink.runtime.grpc.client import blocking_internal_channel
from baylink.runtime.grpc.errors import from_rpc_error
from baylink.runtime.grpc.interceptors import CORRELATION_HEADER
from baylink.runtime.grpc.tls import operator_transport
from services.payments.config import PaymentsSettings

DEFAULT_TARGET = "127.0.0.1:50053"
TIMEOUT_SECONDS = 30.0
REFUSED_EXIT = 1
USAGE_EXIT = 2
_ANY_HOST = {"", "0.0.0.0", "::", "[::]"}  # a server listening everywhere is reached on loopback


def default_target() -> str:
    """host:port from the payments settings (BAYLINK_PAYMENTS_GRPC_HOST/_PORT), else 127.0.0.1:50053."""
    try:
        settings = PaymentsSettings()
    except ValidationError as exc:
        fail(f"payments settings: {str(exc).splitlines()[0]}", USAGE_EXIT)
    if not settings.grpc_port:
        return DEFAULT_TARGET
    host = "127.0.0.1" if settings.grpc_host in _ANY_HOST else settings.grpc_host
    return f"{host}:{settings.grpc_port}"


class Service:
    """One command's connection: the stub, and the correlation id every call carries."""

    def __init__(self, stub: api_grpc.PaymentsServiceStub, correlation_id: str):
        self.stub = stub
        self.correlation_id = correlation_id

    def call(self, method: str, request: Any) -> Any:
        rpc = getattr(self.stub, method)
        return rpc(request, timeout=TIMEOUT_SECONDS, metadata=((CORRELATION_HEADER, self.correlation_id),))


@contextmanager
def connected(target: str) -> Iterator[Service]:
    """The service at ``target`` (empty: the default); any error leaves as one line on stderr and an exit code."""
    address = target or default_target()
    correlation_id = uuid.uuid4().hex
    try:
        with blocking_internal_channel(address, operator_transport(), "payments") as channel:
            yield Service(api_grpc.PaymentsServiceStub(channel), correlation_id)
    except grpc.RpcError as exc:
        error = from_rpc_error(exc)
        fail(describe(address, error, correlation_id), exit_code(error))
    except errors.BaylinkError as exc:  # refused before asking: e.g. an over-precise amount
        fail(describe(address, exc, correlation_id), exit_code(exc))


def exit_code(error: errors.BaylinkError) -> int:
    return USAGE_EXIT if isinstance(error, errors.InvalidInput | errors.Unavailable) else REFUSED_EXIT


def describe(target: str, error: errors.BaylinkError, correlation_id: str) -> str:
    """One line for the operator: the reason code first, as the commands always printed it."""
    if isinstance(error, errors.Unavailable):
        if error.reason == "DEADLINE_EXCEEDED":
            return f"payments service at {target} did not answer within {TIMEOUT_SECONDS:g} s"
        if error.reason == "INTERNAL":
            return f"payments service at {target} failed (INTERNAL); correlation id {correlation_id}"
        if error.reason == "UNAVAILABLE":
            return f"payments service not reachable at {target} (is it running? `make up` starts it): {error.message}"
        return f"payments service at {target} failed: {error.message}"
    details: list[str] = []
    if isinstance(error, errors.InvalidInput):
        details = [f"{v.field}: {v.description}" for v in error.violations]
    elif isinstance(error, errors.FailedPrecondition):
        details = [f"{v.subject}: {v.description}" for v in error.violations]
    extra = f" ({'; '.join(details)})" if details else ""
    return f"{error.reason}: {error.message}{extra}"


def fail(message: str, code: int) -> NoReturn:
    typer.echo(" ".join(message.split()), err=True)  # one line, whatever the server put in it
    raise typer.Exit(code)
