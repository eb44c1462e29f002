"""What the partner-city servicer needs behind it: the registry's applications and the binding store's
subjects, already shaped for one city (gateway ``PartnerApplication`` / ``PartnerSubject`` messages,
people under that city's pairwise pseudonyms).

The gateway's own checks (certificate → city, scopes, authority, rate, bulk reads, audit) happen in
the servicer around these calls, so an implementation needs no authorisation of its own; it must
not widen what it returns beyond the arguments (e.g. list only ``authority_codes``). Errors are
``baylink.errors`` (``NotFound`` for an unknown id or pseudonym; ``from_rpc_error`` turns a peer
service's status into one).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api


class PartnerBackend(Protocol):
    async def list_pending_applications(
        self, city: str, authority_codes: frozenset[str], page_size: int, page_token: str
    ) -> api.ListPendingApplicationsResponse:
        """Applications awaiting a decision by any of ``authority_codes``, oldest deadline first."""

    async def get_application(
        self, city: str, application_id: str, *, include_material_content: bool
    ) -> pc.PartnerApplication:
        """One application, as ``city`` may see it (NotFound if there is none)."""

    async def read_material_contents(
        self, city: str, application: pc.PartnerApplication, material_ids: Sequence[str]
    ) -> int:
        """Fill in the content of the application's ``material_ids`` (all when empty), within the size
        limit (FailedPrecondition ``CONTENT_TOO_LARGE``); the number of bytes filled in."""

    async def decide_application(
        self, city: str, authority_code: str, request: api.DecideApplicationRequest
    ) -> pc.PartnerApplication:
        """Carry out the decision as ``authority_code`` (already checked to be the application's)."""

    async def lookup_subject(self, city: str, pseudonym: str) -> pc.PartnerSubject:
        """The person ``city`` knows by ``pseudonym`` (NotFound if none of its applications names them)."""

    def stream_events(
        self, city: str, authority_codes: frozenset[str], resume_after: str, types: Sequence[str]
    ) -> AsyncIterator[pc.PartnerEvent]:
        """Events about applications of ``authority_codes`` after the cursor, then new ones as they come."""
