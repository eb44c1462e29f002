"""Who may call which RPC: the caller is the service named in its verified client certificate.

Each service declares its allow-list once, as data (``services/<svc>/entrypoints/callers.py``):
full method name → the identities that may call it. A method not listed is refused (deny by
default), so a new RPC is closed until someone says who may call it. Health and reflection stay
open to any caller that completed the TLS handshake: orchestrators probe them, and they tell
nothing about people or money.

The identity is the ``urn:baylink:service:<name>`` subjectAltName of the certificate the TLS
handshake verified against the internal CA (``baylink/runtime/pki/internal_ca.py``), read from the
call's auth context, never from metadata the caller chooses.
"""

from __future__ import annotations

from collections.abc import Mapping

from grpc import aio

from baylink import errors
from baylink.runtime.pki.internal_ca import SERVICE_URI_PREFIX

CallerPolicy = Mapping[str, frozenset[str]]
OPEN_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/")


def caller_identity(context: aio.ServicerContext) -> str | None:
    """The one service identity in the peer's verified certificate, or None."""
    sans = context.auth_context().get("x509_subject_alternative_name", [])
    names = {v.decode() for v in sans if v.startswith(SERVICE_URI_PREFIX.encode())}
    return names.pop().removeprefix(SERVICE_URI_PREFIX) if len(names) == 1 else None


def check_caller(policy: CallerPolicy, method: str, context: aio.ServicerContext) -> None:
    """PermissionDenied unless the verified caller is on ``method``'s allow-list."""
    if method.startswith(OPEN_SERVICES):
        return
    caller = caller_identity(context)
    if caller is None:
        raise errors.PermissionDenied(
            "the client certificate names no Baylink service",
            reason="CALLER_NOT_IDENTIFIED",
            metadata={"method": method},
        )
    if caller not in policy.get(method, frozenset()):
        raise errors.PermissionDenied(
            f"{caller} may not call {method}",
            reason="CALLER_NOT_ALLOWED",
            metadata={"caller": caller, "method": method},
        )
