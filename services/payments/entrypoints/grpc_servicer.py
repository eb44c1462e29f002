"""The gRPC servicer: translate the request, call the use case, translate back. Nothing else."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from grpc import aio

from baylink.errors import BaylinkError, InvalidInput
from baylink.payments.v1 import payments_service_pb2 as api
from baylink.payments.v1 import payments_service_pb2_grpc as api_grpc
from baylink.payments.v1 import settlement_pb2, transfer_pb2
from baylink.runtime.context import current_correlation_id
from baylink.runtime.grpc.items import fill_item_status
from baylink.runtime.grpc.server import Register
from services.payments.adapters import mapping as m
from services.payments.domain.money import money
from services.payments.domain.participants import Jurisdiction, Participant, ParticipantKind
from services.payments.domain.pricing import AmountType, Rate
from services.payments.domain.settlement import WindowState
from services.payments.domain.transfer import PrepareTransfer, Transfer, TransferState
from services.payments.service_layer import bulk, complete, export, participants, prepare, queries, quotes, settlement
from services.payments.service_layer.ports import TransferFilter
from services.payments.service_layer.unit_of_work import Deps

SERVICE_NAME = api.DESCRIPTOR.services_by_name["PaymentsService"].full_name
Ctx = aio.ServicerContext
ISO_KINDS = {
    settlement_pb2.ISO20022_MESSAGE_TYPE_PACS_008: "pacs.008",
    settlement_pb2.ISO20022_MESSAGE_TYPE_PACS_002: "pacs.002",
}


def _transfer_state(value: int) -> TransferState:
    return TransferState(transfer_pb2.TransferState.Name(value).removeprefix("TRANSFER_STATE_"))


def _state_name(enum: EnumTypeWrapper, value: int, field: str) -> str:
    """The state's name; InvalidInput naming the field for a number the contract does not define."""
    if value not in enum.values():
        raise InvalidInput.field(field, f"{value} is not a {enum.DESCRIPTOR.name}")
    return str(enum.Name(value))


def _check_bulk_size(count: int) -> None:
    if not 0 < count <= bulk.MAX_ITEMS:
        raise InvalidInput.field("requests", f"between 1 and {bulk.MAX_ITEMS} items, not {count}")


def _prepare_request(request: api.PrepareTransferRequest) -> PrepareTransfer:
    """The PrepareTransfer request as the use case takes it; InvalidInput naming the field if it is not one."""
    send = m.amount_from(
        "send_amount", request.send_amount, request.HasField("send_amount"), request.send_amount_decimal,
        request.HasField("send_amount_decimal"),
    )  # fmt: skip
    receive = m.amount_from(
        "receive_amount", request.receive_amount, request.HasField("receive_amount"),
        request.receive_amount_decimal, request.HasField("receive_amount_decimal"),
    )  # fmt: skip
    return PrepareTransfer(
        transfer_id=request.transfer_id,
        payer_id=request.payer_participant_id,
        payee_id=request.payee_participant_id,
        send=send,
        receive=receive,
        reference=request.reference,
        payer_pseudonym=request.payer_pseudonym,
        payer_name=request.payer_name,
        payee_name=request.payee_name,
        quote_id=request.quote_id,
        expires_at=m.from_ts(request.expires_at, request.HasField("expires_at"), "expires_at"),
    )


class PaymentsServicer(api_grpc.PaymentsServiceServicer):
    def __init__(self, deps: Deps):
        self.deps = deps

    async def CreateQuote(self, request: api.CreateQuoteRequest, context: Ctx) -> api.CreateQuoteResponse:
        amount = m.amount_from(
            "amount", request.amount, request.HasField("amount"), request.amount_decimal,
            request.HasField("amount_decimal"),
        )  # fmt: skip
        if request.amount_type == transfer_pb2.AMOUNT_TYPE_UNSPECIFIED:
            raise InvalidInput.field("amount_type", "SEND or RECEIVE")
        cmd = quotes.CreateQuote(
            quote_id=request.quote_id,
            payer_id=request.payer_participant_id,
            payee_id=request.payee_participant_id,
            amount_type=AmountType.SEND if request.amount_type == transfer_pb2.AMOUNT_TYPE_SEND else AmountType.RECEIVE,
            amount=amount,
            counter_currency=request.counter_currency,
        )
        return api.CreateQuoteResponse(quote=m.quote_pb(await quotes.create_quote(self.deps, cmd)))

    async def PrepareTransfer(self, request: api.PrepareTransferRequest, context: Ctx) -> api.PrepareTransferResponse:
        transfer = await prepare.prepare_transfer(self.deps, _prepare_request(request))
        return api.PrepareTransferResponse(transfer=m.transfer_pb(transfer))

    async def PrepareTransfers(
        self, request: api.PrepareTransfersRequest, context: Ctx
    ) -> api.PrepareTransfersResponse:
        _check_bulk_size(len(request.requests))
        items: list[PrepareTransfer | BaylinkError] = []
        for item in request.requests:
            try:
                items.append(_prepare_request(item))
            except BaylinkError as error:
                items.append(error)
        outcomes = await bulk.prepare_transfers(self.deps, items)
        return _answer_items(api.PrepareTransfersResponse(), outcomes)

    async def CommitTransfer(self, request: api.CommitTransferRequest, context: Ctx) -> api.CommitTransferResponse:
        transfer = await complete.commit_transfer(self.deps, request.transfer_id)
        return api.CommitTransferResponse(transfer=m.transfer_pb(transfer))

    async def CommitTransfers(self, request: api.CommitTransfersRequest, context: Ctx) -> api.CommitTransfersResponse:
        _check_bulk_size(len(request.requests))
        outcomes = await bulk.commit_transfers(self.deps, [item.transfer_id for item in request.requests])
        return _answer_items(api.CommitTransfersResponse(), outcomes)

    async def AbortTransfer(self, request: api.AbortTransferRequest, context: Ctx) -> api.AbortTransferResponse:
        transfer = await complete.abort_transfer(self.deps, request.transfer_id, request.reason)
        return api.AbortTransferResponse(transfer=m.transfer_pb(transfer))

    async def GetTransfer(self, request: api.GetTransferRequest, context: Ctx) -> api.GetTransferResponse:
        transfer = await queries.get_transfer(self.deps, request.transfer_id)
        return api.GetTransferResponse(transfer=m.transfer_pb(transfer))

    async def ListTransfers(self, request: api.ListTransfersRequest, context: Ctx) -> api.ListTransfersResponse:
        f = TransferFilter(
            participant_id=request.participant_id,
            states=[
                TransferState(_state_name(transfer_pb2.TransferState, s, "states").removeprefix("TRANSFER_STATE_"))
                for s in request.states
                if s
            ],
            reference=request.reference,
            created_after=m.from_ts(request.created_after, request.HasField("created_after")),
            created_before=m.from_ts(request.created_before, request.HasField("created_before")),
        )
        page, token = await queries.list_transfers(self.deps, f, request.page_size, request.page_token)
        return api.ListTransfersResponse(transfers=[m.transfer_pb(t) for t in page], next_page_token=token)

    async def CreateParticipant(
        self, request: api.CreateParticipantRequest, context: Ctx
    ) -> api.CreateParticipantResponse:
        p = Participant(
            participant_id=request.participant_id,
            name_en=request.name.en,
            name_zh_hant=request.name.zh_hant,
            name_zh_hans=request.name.zh_hans,
            name_pt=request.name.pt,
            jurisdiction=Jurisdiction(m.jurisdiction_name(request.jurisdiction)),
            kind=ParticipantKind(m.kind_name(request.kind)),
            bic=request.bic,
            currencies=tuple(request.currencies),
            active=True,
            created_at=datetime.now(UTC),
        )
        created = await participants.create_participant(self.deps, participants.CreateParticipant(p))
        return api.CreateParticipantResponse(participant=m.participant_pb(created))

    async def ListParticipants(
        self, request: api.ListParticipantsRequest, context: Ctx
    ) -> api.ListParticipantsResponse:
        found = await participants.list_participants(self.deps)
        return api.ListParticipantsResponse(participants=[m.participant_pb(p) for p in found])

    async def GetPosition(self, request: api.GetPositionRequest, context: Ctx) -> api.GetPositionResponse:
        found = await participants.positions(self.deps, request.participant_id, request.currency)
        now = self.deps.clock()
        return api.GetPositionResponse(positions=[m.position_pb(p, now) for p in found])

    async def SetNetDebitCap(self, request: api.SetNetDebitCapRequest, context: Ctx) -> api.SetNetDebitCapResponse:
        cap = request.net_debit_cap
        position = await participants.set_net_debit_cap(
            self.deps, request.participant_id, money(cap.currency, cap.minor_units, "net_debit_cap", positive=False)
        )
        return api.SetNetDebitCapResponse(position=m.position_pb(position, self.deps.clock()))

    async def SetRate(self, request: api.SetRateRequest, context: Ctx) -> api.SetRateResponse:
        r = request.rate
        try:
            mid = Decimal(r.rate)
        except InvalidOperation:
            raise InvalidInput.field("rate.rate", "a decimal string") from None
        rate = Rate(
            source_currency=r.source_currency,
            target_currency=r.target_currency,
            mid=mid,
            valid_from=m.from_ts(r.valid_from, r.HasField("valid_from")) or self.deps.clock(),
            valid_until=m.from_ts(r.valid_until, r.HasField("valid_until")),
            spread_bps=r.spread_bps,
            fee_fixed_minor=r.fee_fixed.minor_units,
            fee_bps=r.fee_bps,
        )
        if r.HasField("fee_fixed") and r.fee_fixed.currency != r.source_currency:
            raise InvalidInput.field("rate.fee_fixed.currency", "must be the source currency")
        return api.SetRateResponse(rate=m.rate_pb(await quotes.set_rate(self.deps, rate)))

    async def OpenSettlementWindow(
        self, request: api.OpenSettlementWindowRequest, context: Ctx
    ) -> api.OpenSettlementWindowResponse:
        window = await settlement.open_window(self.deps, request.reason)
        return api.OpenSettlementWindowResponse(window=m.window_pb(window))

    async def CloseSettlementWindow(
        self, request: api.CloseSettlementWindowRequest, context: Ctx
    ) -> api.CloseSettlementWindowResponse:
        report = await settlement.close_window(self.deps, request.settlement_window_id, request.reason)
        return api.CloseSettlementWindowResponse(report=m.report_pb(report))

    async def SettleSettlementWindow(
        self, request: api.SettleSettlementWindowRequest, context: Ctx
    ) -> api.SettleSettlementWindowResponse:
        report = await settlement.settle_window(self.deps, request.settlement_window_id)
        return api.SettleSettlementWindowResponse(report=m.report_pb(report))

    async def GetSettlementReport(
        self, request: api.GetSettlementReportRequest, context: Ctx
    ) -> api.GetSettlementReportResponse:
        report = await settlement.report(self.deps, request.settlement_window_id)
        return api.GetSettlementReportResponse(report=m.report_pb(report))

    async def ListSettlementWindows(
        self, request: api.ListSettlementWindowsRequest, context: Ctx
    ) -> api.ListSettlementWindowsResponse:
        states = [
            WindowState(
                _state_name(settlement_pb2.SettlementWindowState, s, "states").removeprefix("SETTLEMENT_WINDOW_STATE_")
            )
            for s in request.states
            if s
        ]
        windows = await settlement.list_windows(self.deps, states, min(request.limit or 50, 500))
        return api.ListSettlementWindowsResponse(windows=[m.window_pb(w) for w in windows])

    async def ExportIso20022(self, request: api.ExportIso20022Request, context: Ctx) -> api.ExportIso20022Response:
        kinds = {
            settlement_pb2.ISO20022_MESSAGE_TYPE_PACS_008: "pacs.008",
            settlement_pb2.ISO20022_MESSAGE_TYPE_PACS_002: "pacs.002",
        }
        if request.message_type not in kinds:
            raise InvalidInput.field("message_type", "PACS_008 or PACS_002")
        rendered = await export.export_iso20022(self.deps, request.transfer_id, kinds[request.message_type])
        transfer = await queries.get_transfer(self.deps, request.transfer_id)
        return api.ExportIso20022Response(
            document=rendered.document,
            message_definition=rendered.message_definition,
            message_id=rendered.message_id,
            schema_validated=rendered.schema_validated,
            uetr=transfer.uetr,
        )


def register_servicer(deps: Deps) -> Register:
    servicer = PaymentsServicer(deps)

    def register(server: aio.Server) -> None:
        api_grpc.add_PaymentsServiceServicer_to_server(servicer, server)

    return register


BulkResponse = TypeVar("BulkResponse", api.PrepareTransfersResponse, api.CommitTransfersResponse)


def _answer_items(response: BulkResponse, outcomes: list[Transfer | Exception]) -> BulkResponse:
    """One result per item, in order: its transfer, or its error as the unary call would fail."""
    cid = current_correlation_id()
    for outcome in outcomes:
        result = response.results.add()
        if isinstance(outcome, Exception):
            fill_item_status(result.error, outcome, cid)
        else:
            m.fill_transfer(result.response.transfer, outcome)
    return response
