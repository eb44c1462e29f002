"""gRPC clients of the services behind the gateway: what every call shares.

Channels come from ``baylink.runtime.grpc.client.internal_channel`` (loopback services; the correlation
id of the current request goes along). Every call has a deadline, speaks the caller's language
(``accept-language`` metadata, from ``language_var``) and turns a peer's status back into the domain
error with ``from_rpc_error``, so nothing above the adapters sees gRPC.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from baylink.common.v1 import common_pb2
from baylink.runtime.grpc.errors import from_rpc_error
from services.gateway.kiosk.service_layer.model import Money, TextByLanguage

R = TypeVar("R")

# The language of the current request (a kiosk's choice); None: the service's default.
language_var: ContextVar[str | None] = ContextVar("baylink_gateway_language", default=None)

_LANGUAGE_FIELDS = {"zh-Hant": "zh_hant", "zh-Hans": "zh_hans", "en": "en", "pt": "pt"}
_JURISDICTIONS: dict[int, str] = {
    common_pb2.JURISDICTION_HK: "HK",
    common_pb2.JURISDICTION_MO: "MO",
    common_pb2.JURISDICTION_GD: "GD",
}


async def call(method: Callable[..., Awaitable[R]], request: Any, timeout: float) -> R:
    """``method(request)`` with a deadline and the caller's language; domain errors out."""
    language = language_var.get()
    metadata = (("accept-language", language),) if language else None
    try:
        return await method(request, timeout=timeout, metadata=metadata)
    except grpc.RpcError as exc:
        raise from_rpc_error(exc) from None


def money(message: common_pb2.Money) -> Money:
    return Money(message.currency, message.minor_units)


def money_or_none(message: common_pb2.Money) -> Money | None:
    return money(message) if message.currency else None


def to_money(value: Money) -> common_pb2.Money:
    return common_pb2.Money(currency=value.currency, minor_units=value.minor_units)


def local_text(message: common_pb2.LocalizedText) -> TextByLanguage:
    return {tag: getattr(message, name) for tag, name in _LANGUAGE_FIELDS.items() if getattr(message, name)}


def time_or_none(stamp: Timestamp, present: bool) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if present else None


def jurisdiction_code(value: int) -> str:
    return _JURISDICTIONS.get(value, "")


def jurisdiction_enum(code: str) -> int:
    return {v: k for k, v in _JURISDICTIONS.items()}.get(code, common_pb2.JURISDICTION_UNSPECIFIED)


def enum_word(name: str, prefix: str) -> str:
    """``APPLICATION_STATE_UNDER_REVIEW`` → ``under_review``."""
    return name.removeprefix(prefix).lower()
