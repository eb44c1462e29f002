"""Test data and builders for the identity-binding tests (no tests here).

The people are invented; their numbers are built with ``baylink.ids`` so they are valid.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from baylink.ids import gb11643_check_char
from baylink.runtime.db import Database
from services.gateway.binding.adapters.store import MIGRATIONS, SqlBindingStore
from services.gateway.binding.domain.model import BindingPolicy, CertificateFacts, DeclaredPerson, Documents
from services.gateway.binding.service_layer.ports import BindingDecision
from services.gateway.binding.service_layer.service import BindingService
from services.gateway.shared.adapters.crypto import FieldCipher
from services.gateway.shared.adapters.crypto_hmac import LookupHasher, Pseudonymiser

BIRTH = date(1985, 7, 14)
HKID = "A123456(3)"
OTHER_HKID = "G123456(A)"
MACAU_ID = "1234567(8)"
PERMIT = "H12345678"
PERMIT_ISSUE_1 = "H1234567801"
PERMIT_ISSUE_2 = "H1234567802"
MACAU_PERMIT = "M87654321"
FINGERPRINT = "ab" * 32
OTHER_FINGERPRINT = "cd" * 32
SHENZHEN, GUANGZHOU, FOSHAN = "440300", "440100", "440600"
NAME_ZH, NAME_EN = "陳大文", "CHAN Tai Man"


def residence_permit(area: str = "810000", born: date = BIRTH, sequence: str = "123") -> str:
    body = f"{area}{born:%Y%m%d}{sequence}"
    return body + gb11643_check_char(body)


RESIDENCE_PERMIT = residence_permit()


def hk_documents(**changes: Any) -> Documents:
    return replace(Documents(travel_permit=PERMIT, hkid=HKID), **changes)


def declared(**changes: Any) -> DeclaredPerson:
    return replace(DeclaredPerson(date_of_birth=BIRTH, name_zh=NAME_ZH, name_en=NAME_EN), **changes)


def certificate(**changes: Any) -> CertificateFacts:
    base = CertificateFacts(
        fingerprint=FINGERPRINT,
        jurisdiction="HK",
        indication="TOTAL_PASSED",
        common_name=f"{NAME_ZH} {NAME_EN}",
        date_of_birth=BIRTH,
    )
    return replace(base, **changes)


def new_key() -> bytes:
    return secrets.token_bytes(32)


class Keys:
    """A fresh key set: number keys by id (``current`` seals), a pseudonym key and a lookup key."""

    def __init__(self) -> None:
        self.numbers = {"k1": new_key()}
        self.current = "k1"
        self.pseudonym = new_key()
        self.lookup = new_key()

    def rotate(self, key_id: str) -> None:
        self.numbers[key_id] = new_key()
        self.current = key_id

    def cipher(self) -> FieldCipher:
        return FieldCipher(dict(self.numbers), self.current)


class Decisions(list[BindingDecision]):
    """Collects the decisions the service reports for the audit log."""

    async def __call__(self, decision: BindingDecision) -> None:
        self.append(decision)


def binding_service(
    db: Database,
    keys: Keys,
    *,
    policy: BindingPolicy | None = None,
    decisions: Decisions | None = None,
    today: Callable[[], date | None] = lambda: None,
) -> BindingService:
    store = SqlBindingStore(db, keys.cipher(), LookupHasher(keys.lookup))
    return BindingService(store, Pseudonymiser(keys.pseudonym), policy=policy, on_decision=decisions, today=today)


async def sqlite_database(directory: Path) -> Database:
    """A migrated SQLite database (runtime and gateway branches) in ``directory``."""
    db = Database(f"sqlite+aiosqlite:///{directory / 'gateway.db'}")
    await db.migrate([MIGRATIONS])
    return db
