"""Use cases that only read: one transfer, a page of transfers."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from baylink.errors import InvalidInput, NotFound
from services.payments.domain.transfer import Transfer
from services.payments.service_layer.ports import TransferFilter
from services.payments.service_layer.unit_of_work import Deps


async def get_transfer(deps: Deps, transfer_id: str) -> Transfer:
    async with deps.read() as repos:
        t = await repos.transfers.get(transfer_id)
    if t is None:
        raise NotFound("transfer", transfer_id)
    return t


async def list_transfers(deps: Deps, f: TransferFilter, page_size: int, page_token: str) -> tuple[list[Transfer], str]:
    if page_size < 0:
        raise InvalidInput.field("page_size", "must not be negative")
    size = min(page_size or deps.policy.list_page_size, 1000)
    after = _decode(page_token) if page_token else None
    async with deps.read() as repos:
        page = await repos.transfers.page(f, after, size + 1)
    more = len(page) > size
    page = page[:size]
    token = _encode(page[-1].created_at, page[-1].transfer_id) if more else ""
    return page, token


def _encode(created_at: datetime, transfer_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), transfer_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode(token: str) -> tuple[datetime, str]:
    try:
        created, transfer_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        moment = datetime.fromisoformat(created)
    except (ValueError, TypeError) as exc:
        raise InvalidInput.field("page_token", "not a token this service issued") from exc
    if moment.tzinfo is None or not isinstance(transfer_id, str):
        raise InvalidInput.field("page_token", "not a token this service issued")
    return moment, transfer_id
