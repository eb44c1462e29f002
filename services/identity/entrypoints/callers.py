"""Who may call which IdentityService RPC (checked by baylink/runtime/grpc/authz.py).

Checking certificates and signatures: the gateway (kiosk identification), the registry (signed
materials) and the operators' CLI (`baylink identity ... --target`). Changing what is trusted
(UpdateTrustList) is the operators' alone.
"""

from __future__ import annotations

from baylink.identity.v1 import identity_service_pb2 as api

_SERVICE = "/" + api.DESCRIPTOR.services_by_name["IdentityService"].full_name + "/"
_CHECKERS = frozenset({"gateway", "registry", "operator"})

CALLERS: dict[str, frozenset[str]] = {
    _SERVICE + method: who
    for method, who in {
        "ValidateCertificate": _CHECKERS,
        "VerifySignature": _CHECKERS,
        "VerifySignatures": _CHECKERS,
        "VerifyPdfSignatures": _CHECKERS,
        "GetTrustList": _CHECKERS,
        "ListRecognisedAuthorities": _CHECKERS,
        "UpdateTrustList": frozenset({"operator"}),
    }.items()
}
