"""Who may call which PaymentsService RPC (checked by baylink/runtime/grpc/authz.py).

Money moves on behalf of an application: the gateway (fees at the kiosk) and the gateway's flow
worker (refunds). Participants, caps, rates, settlement and ISO 20022 exports are the operators'
business alone: their CLI holds the ``operator`` certificate, no service does.
"""

from __future__ import annotations

from baylink.payments.v1 import payments_service_pb2 as api

_SERVICE = "/" + api.DESCRIPTOR.services_by_name["PaymentsService"].full_name + "/"
_TRANSFERS = frozenset({"gateway", "gateway-flows", "operator"})
_OPERATOR = frozenset({"operator"})

CALLERS: dict[str, frozenset[str]] = {
    _SERVICE + method: who
    for method, who in {
        "CreateQuote": _TRANSFERS,
        "PrepareTransfer": _TRANSFERS,
        "CommitTransfer": _TRANSFERS,
        "AbortTransfer": _TRANSFERS,
        "GetTransfer": _TRANSFERS,
        "PrepareTransfers": _TRANSFERS,
        "CommitTransfers": _TRANSFERS,
        "ListTransfers": _OPERATOR,
        "GetPosition": _OPERATOR,
        "ListParticipants": _OPERATOR,
        "CreateParticipant": _OPERATOR,
        "SetNetDebitCap": _OPERATOR,
        "SetRate": _OPERATOR,
        "OpenSettlementWindow": _OPERATOR,
        "CloseSettlementWindow": _OPERATOR,
        "SettleSettlementWindow": _OPERATOR,
        "GetSettlementReport": _OPERATOR,
        "ListSettlementWindows": _OPERATOR,
        "ExportIso20022": _OPERATOR,
    }.items()
}
