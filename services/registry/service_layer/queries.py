"""Reading: one application, a page of applications, the catalogue."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from baylink import errors
from services.registry.domain.application import Application
from services.registry.domain.catalogue import CatalogueItem
from services.registry.domain.messages import say
from services.registry.service_layer.context import Registry
from services.registry.service_layer.ports import ApplicationFilter

DEFAULT_PAGE = 50
MAX_PAGE = 500


def page_size(requested: int) -> int:
    if requested < 0:
        raise errors.InvalidInput.field("page_size", say("capital_not_positive"))
    return min(requested or DEFAULT_PAGE, MAX_PAGE)


async def get_application(registry: Registry, application_id: str) -> Application:
    async with registry.uow.reading() as work:
        return await work.applications.get(application_id)


async def list_applications(
    registry: Registry, where: ApplicationFilter, size: int, token: str
) -> tuple[list[Application], str]:
    limit = page_size(size)
    async with registry.uow.reading() as work:
        apps = await work.applications.page(where, limit + 1, _decode(token) if token else None)
    more = len(apps) > limit
    apps = apps[:limit]
    return apps, _encode(apps[-1]) if more else ""


def list_items(registry: Registry, authority_code: str, size: int, token: str) -> tuple[list[CatalogueItem], str]:
    limit = page_size(size)
    items = registry.catalogue.items(authority_code)
    start = 0
    if token:
        codes = [i.code for i in items]
        if token not in codes:
            raise errors.InvalidInput.field("page_token", say("page_token"))
        start = codes.index(token) + 1
    page = items[start : start + limit]
    more = start + limit < len(items)
    return page, page[-1].code if more and page else ""


def _encode(app: Application) -> str:
    raw = json.dumps([app.created_at.isoformat(), app.application_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode(token: str) -> tuple[datetime, str]:
    try:
        created, application_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return datetime.fromisoformat(created), str(application_id)
    except (ValueError, TypeError, binascii.Error):
        raise errors.InvalidInput.field("page_token", say("page_token")) from None
