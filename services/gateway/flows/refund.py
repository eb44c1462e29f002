"""Compensation: refund an application's fee through payments, at most once whatever the retries.

The refund is a transfer from the fee's payee (the authority's fee collector) back to its payer,
for the fee the collector received (CNY) converted into the payer's currency, with reference
``REFUND-<application id>``. Its quote and transfer ids derive from the application id, so a
retried or replayed compensation repeats the same request, which payments answers with the same
transfer (and never moves the money twice).
"""

from __future__ import annotations

import uuid

from baylink import errors
from baylink.payments.v1 import payments_service_pb2 as pay
from baylink.payments.v1 import payments_service_pb2_grpc as pay_grpc
from baylink.payments.v1 import transfer_pb2 as tr
from baylink.runtime.grpc.client import internal_channel
from baylink.runtime.grpc.tls import InternalTransport
from services.gateway.clients.calls import call

_REFUNDS = uuid.UUID("0b6f7f0e-2f6a-4f0c-9f53-3c2a8d1e6b41")  # namespace of refund ids


def refund_transfer_id(application_id: str) -> str:
    return f"refund-{uuid.uuid5(_REFUNDS, application_id)}"


def refund_quote_id(application_id: str) -> str:
    return f"refund-quote-{uuid.uuid5(_REFUNDS, application_id)}"


class Refunds:
    def __init__(self, target: str, transport: InternalTransport, timeout_seconds: float):
        self.channel = internal_channel(target, transport, "payments")
        self.stub = pay_grpc.PaymentsServiceStub(self.channel)
        self.timeout = timeout_seconds

    async def refund(self, application_id: str, fee_transfer_id: str) -> str:
        """Refund the fee paid by ``fee_transfer_id``; returns the committed refund's transfer id."""
        transfer_id = refund_transfer_id(application_id)
        done = await self._get(transfer_id)
        if done is None or done.state == tr.TRANSFER_STATE_RESERVED:
            fee = await self._get(fee_transfer_id)
            if fee is None or fee.state != tr.TRANSFER_STATE_COMMITTED:
                message = f"fee transfer {fee_transfer_id} is not committed"
                raise errors.FailedPrecondition(message, reason="FEE_NOT_PAID")
            if done is None:
                await self._prepare(transfer_id, application_id, fee)
            done = (await call(self.stub.CommitTransfer, pay.CommitTransferRequest(transfer_id=transfer_id),
                               self.timeout)).transfer  # fmt: skip
        if done.state != tr.TRANSFER_STATE_COMMITTED:
            state = tr.TransferState.Name(done.state)
            message = f"refund {transfer_id} is {state}: {done.abort_reason}"
            raise errors.FailedPrecondition(message, reason="REFUND_FAILED")
        return transfer_id

    async def _prepare(self, transfer_id: str, application_id: str, fee: tr.Transfer) -> None:
        quote_request = pay.CreateQuoteRequest(
            quote_id=refund_quote_id(application_id),
            payer_participant_id=fee.payee_participant_id,
            payee_participant_id=fee.payer_participant_id,
            amount_type=tr.AMOUNT_TYPE_SEND,
            amount=fee.receive_amount,
            counter_currency=fee.send_amount.currency,
        )
        quote = (await call(self.stub.CreateQuote, quote_request, self.timeout)).quote
        request = pay.PrepareTransferRequest(
            transfer_id=transfer_id,
            quote_id=quote.quote_id,
            payer_participant_id=quote.payer_participant_id,
            payee_participant_id=quote.payee_participant_id,
            send_amount=quote.send_amount,
            receive_amount=quote.receive_amount,
            reference=f"REFUND-{application_id}",
            payer_pseudonym=fee.payer_pseudonym,  # the person the money goes back to
            payer_name=f"Fee collector {fee.payee_participant_id}",
            payee_name=f"Refund of fee transfer {fee.transfer_id}",
        )
        await call(self.stub.PrepareTransfer, request, self.timeout)

    async def _get(self, transfer_id: str) -> tr.Transfer | None:
        try:
            response: pay.GetTransferResponse = await call(
                self.stub.GetTransfer, pay.GetTransferRequest(transfer_id=transfer_id), self.timeout
            )
        except errors.NotFound:
            return None
        return response.transfer

    async def close(self) -> None:
        await self.channel.close()
