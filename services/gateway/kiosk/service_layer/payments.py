"""Paying an application's fee from a kiosk: a quote in HKD or MOP, then the two-phase transfer.

The registry raises the fee in CNY when the application is submitted. The quote fixes what the
authority's fee collector receives (exactly the fee) and what the person pays in their currency.
Paying prepares and commits one transfer whose reference is the fee's payment reference; the
registry marks the fee paid when the committed-transfer event reaches it, so a kiosk tracks the
application until ``fee_paid`` turns true. The transfer id is derived from the application and the
quote, so a kiosk retrying a payment it never heard back about cannot pay twice.

The payments calls run under the application's flow id (the registry's correlation id for all the
application's events), so the committed transfer's event joins the application's flow.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from baylink import errors
from baylink.runtime.context import correlation_scope, current_correlation_id, traceparent_var
from services.gateway.kiosk.service_layer.access import KioskCall
from services.gateway.kiosk.service_layer.deps import KioskDeps, own_application
from services.gateway.kiosk.service_layer.model import (
    ApplicationView,
    CatalogueItemView,
    Money,
    QuoteView,
    TransferView,
)
from services.gateway.kiosk.service_layer.sessions import IdentifiedPerson

_TRANSFERS = uuid.UUID("6f1d3c52-7d1e-4a8e-9a55-5b1f0e0c2a77")  # namespace of fee transfer ids


@contextmanager
def _in_flow(flow_id: str) -> Iterator[None]:
    """Run the payments calls under the application's flow id, the kiosk request's id as their cause."""
    if not flow_id:
        yield
        return
    with correlation_scope(flow_id, causation_id=current_correlation_id(), traceparent=traceparent_var.get()):
        yield


async def fee_quote(deps: KioskDeps, call: KioskCall, application_id: str, currency: str) -> QuoteView:
    call.note(application_id=application_id, currency=currency)
    payer = deps.payer_participants.get(currency)
    if payer is None:
        accepted = " or ".join(sorted(deps.payer_participants))
        raise errors.InvalidInput.field("currency", f"kiosks pay in {accepted}")
    if len(call.live.quotes) >= deps.max_quotes_per_session:
        raise errors.ResourceExhausted(
            f"a kiosk session holds at most {deps.max_quotes_per_session} fee quotes; start a new session",
            subject="kiosk-session-quotes", retry_after_seconds=60, reason="TOO_MANY_QUOTES",
        )  # fmt: skip
    app, owner = await own_application(deps, call.live, application_id)
    call.about(owner.subject_id)
    fee = _payable_fee(app)
    with _in_flow(app.flow_id):
        quote = await deps.payments.quote(
            str(uuid.uuid4()), payer, deps.fee_collector(app.authority_code), fee, currency
        )
    call.live.quotes[quote.quote_id] = (application_id, quote)
    call.note(quote_id=quote.quote_id)
    return quote


async def pay(deps: KioskDeps, call: KioskCall, application_id: str, quote_id: str) -> TransferView:
    call.note(application_id=application_id, quote_id=quote_id)
    held = call.live.quotes.get(quote_id)
    if held is None or held[0] != application_id:
        raise errors.InvalidInput.field("quote_id", "not a quote for this application's fee in this session")
    quote = held[1]
    app, owner = await own_application(deps, call.live, application_id)
    call.about(owner.subject_id)
    fee = _payable_fee(app)
    if quote.receive != fee:
        raise errors.FailedPrecondition("the fee changed since the quote; ask for a new one", reason="QUOTE_STALE")
    transfer_id = f"fee-{uuid.uuid5(_TRANSFERS, f'{application_id}/{quote_id}')}"
    call.note(transfer_id=transfer_id)
    item = await deps.registry.catalogue_item(app.catalogue_item_id)
    with _in_flow(app.flow_id):
        transfer = await _prepare_and_commit(deps, transfer_id, quote, app, owner, item)
    call.note(transfer_state=transfer.state)
    return transfer


async def _prepare_and_commit(
    deps: KioskDeps,
    transfer_id: str,
    quote: QuoteView,
    app: ApplicationView,
    owner: IdentifiedPerson,
    item: CatalogueItemView,
) -> TransferView:
    assert app.fee is not None
    await deps.payments.prepare(
        transfer_id,
        quote,
        reference=app.fee.payment_reference,
        payer_pseudonym=await deps.payer_pseudonym(owner.subject_id),
        payer_name=owner.name_en or owner.display_name,
        payee_name=item.authority_name.get("en") or item.authority_code,
    )
    try:
        transfer = await deps.payments.commit(transfer_id)
    except errors.Unavailable:
        raise  # the outcome is unknown: the reservation expires by itself if the commit never landed
    except errors.BaylinkError:
        with contextlib.suppress(errors.BaylinkError):  # release the reservation; the refusal is what matters
            await deps.payments.abort(transfer_id, "commit refused")
        raise
    return transfer


def _payable_fee(app: ApplicationView) -> Money:
    if app.fee_paid:
        raise errors.FailedPrecondition("the fee is already paid", reason="FEE_ALREADY_PAID")
    if app.fee is None or not app.fee.payment_reference or app.fee.amount.minor_units <= 0:
        raise errors.FailedPrecondition(
            "no fee to pay yet: the fee is raised when the application is submitted", reason="FEE_NOT_RAISED"
        )
    return app.fee.amount
