"""Use case: render a transfer as ISO 20022 (pacs.008 when committed, pacs.002 for its status)."""

from __future__ import annotations

from baylink.errors import FailedPrecondition, InvalidInput, PreconditionViolation
from services.payments.domain.transfer import TransferState
from services.payments.service_layer.ports import Rendered
from services.payments.service_layer.queries import get_transfer
from services.payments.service_layer.unit_of_work import Deps


async def export_iso20022(deps: Deps, transfer_id: str, message: str) -> Rendered:
    """``message`` is "pacs.008" or "pacs.002"."""
    if message not in ("pacs.008", "pacs.002"):
        raise InvalidInput.field("message_type", "pacs.008 or pacs.002")
    transfer = await get_transfer(deps, transfer_id)
    if message == "pacs.002":
        return deps.iso20022.pacs002(transfer, deps.clock())
    if transfer.state is not TransferState.COMMITTED:
        raise FailedPrecondition(
            f"transfer {transfer_id} is {transfer.state.value}; only a committed transfer is a pacs.008",
            [PreconditionViolation("STATE", f"transfer/{transfer_id}", transfer.state.value)],
            reason=f"TRANSFER_{transfer.state.value}",
        )
    async with deps.read() as repos:
        parties = await repos.participants.get([transfer.payer_id, transfer.payee_id])
    return deps.iso20022.pacs008(transfer, parties[transfer.payer_id], parties[transfer.payee_id], deps.policy.zone)
