"""The payments service over gRPC (the kiosk's ``PaymentsPort``), and the payer pseudonyms it counts on.

Payments applies per-person corridor limits to a keyed pseudonym of the payer. It must be one value
per person whatever city the fee goes to (a per-city pseudonym would let a person pass the limits by
paying in several cities), and no city's pseudonym (so payments data cannot be joined with a city's).
``PayerPseudonyms`` is HMAC-SHA256 under the binding's pseudonym key with its own domain label,
which no city pseudonym can collide with (those start with a 6-digit division code).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path

from baylink.payments.v1 import payments_service_pb2 as pay
from baylink.payments.v1 import payments_service_pb2_grpc as pay_grpc
from baylink.payments.v1 import transfer_pb2 as tr
from baylink.runtime.grpc.client import internal_channel
from baylink.runtime.grpc.tls import InternalTransport
from services.gateway.clients.calls import call, enum_word, money, money_or_none, time_or_none, to_money
from services.gateway.kiosk.service_layer.model import Money, QuoteView, TransferView
from services.gateway.shared.adapters.crypto_keys import read_key_file

PAYER_LABEL = b"baylink.payments.payer.v1"


class PaymentsClient:
    def __init__(self, target: str, transport: InternalTransport, timeout_seconds: float = 10.0):
        self.channel = internal_channel(target, transport, "payments")
        self.stub = pay_grpc.PaymentsServiceStub(self.channel)
        self.timeout = timeout_seconds

    async def quote(self, quote_id: str, payer: str, payee: str, receive: Money, send_currency: str) -> QuoteView:
        request = pay.CreateQuoteRequest(
            quote_id=quote_id,
            payer_participant_id=payer,
            payee_participant_id=payee,
            amount_type=tr.AMOUNT_TYPE_RECEIVE,
            amount=to_money(receive),
            counter_currency=send_currency,
        )
        response: pay.CreateQuoteResponse = await call(self.stub.CreateQuote, request, self.timeout)
        q = response.quote
        return QuoteView(
            quote_id=q.quote_id,
            payer_participant_id=q.payer_participant_id,
            payee_participant_id=q.payee_participant_id,
            send=money(q.send_amount),
            receive=money(q.receive_amount),
            fee=money_or_none(q.fee),
            customer_rate=q.customer_rate,
            expires_at=time_or_none(q.expires_at, q.HasField("expires_at")),
        )

    async def prepare(
        self,
        transfer_id: str,
        quote: QuoteView,
        *,
        reference: str,
        payer_pseudonym: str,
        payer_name: str,
        payee_name: str,
    ) -> TransferView:
        request = pay.PrepareTransferRequest(
            transfer_id=transfer_id,
            quote_id=quote.quote_id,
            payer_participant_id=quote.payer_participant_id,
            payee_participant_id=quote.payee_participant_id,
            send_amount=to_money(quote.send),
            receive_amount=to_money(quote.receive),
            reference=reference,
            payer_pseudonym=payer_pseudonym,
            payer_name=payer_name,
            payee_name=payee_name,
        )
        response: pay.PrepareTransferResponse = await call(self.stub.PrepareTransfer, request, self.timeout)
        return transfer(response.transfer)

    async def commit(self, transfer_id: str) -> TransferView:
        request = pay.CommitTransferRequest(transfer_id=transfer_id)
        response: pay.CommitTransferResponse = await call(self.stub.CommitTransfer, request, self.timeout)
        return transfer(response.transfer)

    async def abort(self, transfer_id: str, reason: str) -> TransferView:
        request = pay.AbortTransferRequest(transfer_id=transfer_id, reason=reason)
        response: pay.AbortTransferResponse = await call(self.stub.AbortTransfer, request, self.timeout)
        return transfer(response.transfer)

    async def close(self) -> None:
        await self.channel.close()


def transfer(t: tr.Transfer) -> TransferView:
    return TransferView(
        transfer_id=t.transfer_id,
        state=enum_word(tr.TransferState.Name(t.state), "TRANSFER_STATE_"),
        send=money(t.send_amount),
        receive=money(t.receive_amount),
        reference=t.reference,
        abort_code=t.abort_code,
    )


class PayerPseudonyms:
    """subject id → base32 HMAC of the person's mainland subject (lower case, unpadded, 52 characters)."""

    def __init__(self, key: bytes, subject_number: Callable[[str], Awaitable[str]]):
        self._key = key
        self._subject_number = subject_number

    @classmethod
    def from_key_file(cls, path: Path, subject_number: Callable[[str], Awaitable[str]]) -> PayerPseudonyms:
        return cls(read_key_file(path), subject_number)

    async def __call__(self, subject_id: str) -> str:
        number = await self._subject_number(subject_id)
        digest = hmac.new(self._key, PAYER_LABEL + b"\x00" + number.encode("utf-8"), hashlib.sha256).digest()
        return base64.b32encode(digest).decode("ascii").rstrip("=").lower()
