"""Freshness-aware cache of CRLs and OCSP responses, shared by every validation of the process.

An entry lives until the earliest of its own nextUpdate and `max_age` after it was fetched, so a
CA that publishes long-lived CRLs cannot make us sit on a stale answer for days. Entries without
nextUpdate (allowed by RFC 6960) get `default_ttl`. Expired entries are never returned.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from asn1crypto import crl, ocsp, x509

T = TypeVar("T")
OcspKey = tuple[bytes, int]  # (SHA-1 of the issuer's Name DER, serial): computable from the cert alone


def ocsp_key(cert: x509.Certificate) -> OcspKey:
    return cert.issuer.sha1, cert.serial_number


def answers_for(response: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    """Whether a successful OCSP response has a single response for `cert` (serial and issuer
    name hash under the CertID's own hash algorithm)."""
    try:
        if response["response_status"].native != "successful":
            return False
        singles = response["response_bytes"]["response"].parsed["tbs_response_data"]["responses"]
        for single in singles:
            cert_id = single["cert_id"]
            if cert_id["serial_number"].native != cert.serial_number:
                continue
            issuer_hash = hashlib.new(cert_id["hash_algorithm"]["algorithm"].native, cert.issuer.dump()).digest()
            if cert_id["issuer_name_hash"].native == issuer_hash:
                return True
    except (ValueError, KeyError, TypeError):
        return False
    return False


def ocsp_current_at(response: ocsp.OCSPResponse, moment: datetime) -> bool:
    """Whether every single response of `response` is current at `moment` (nextUpdate not past)."""
    singles = response["response_bytes"]["response"].parsed["tbs_response_data"]["responses"]
    return all(single["next_update"].native is None or single["next_update"].native >= moment for single in singles)


@dataclass(frozen=True)
class _Entry(Generic[T]):
    value: T
    expires: datetime


class _Lru(Generic[T]):
    def __init__(self, max_entries: int) -> None:
        self._items: OrderedDict[object, _Entry[T]] = OrderedDict()
        self._max = max_entries

    def get(self, key: object, now: datetime) -> T | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        if entry.expires <= now:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return entry.value

    def put(self, key: object, value: T, expires: datetime) -> None:
        self._items[key] = _Entry(value, expires)
        self._items.move_to_end(key)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


class RevocationCache:
    def __init__(
        self,
        max_age: timedelta = timedelta(hours=4),
        default_ttl: timedelta = timedelta(minutes=30),
        max_entries: int = 10_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._max_age = max_age
        self._default_ttl = default_ttl
        self._clock = clock
        self._crls: _Lru[crl.CertificateList] = _Lru(max_entries)
        self._ocsp: _Lru[ocsp.OCSPResponse] = _Lru(max_entries)

    def get_crl(self, url: str) -> crl.CertificateList | None:
        return self._crls.get(url, self._clock())

    def put_crl(self, url: str, certificate_list: crl.CertificateList) -> None:
        next_update = certificate_list["tbs_cert_list"]["next_update"].native
        self._store(self._crls, url, certificate_list, next_update)

    def get_ocsp(self, key: OcspKey) -> ocsp.OCSPResponse | None:
        return self._ocsp.get(key, self._clock())

    def put_ocsp(self, key: OcspKey, response: ocsp.OCSPResponse) -> None:
        responses = response["response_bytes"]["response"].parsed["tbs_response_data"]["responses"]
        next_updates = [r["next_update"].native for r in responses]
        next_update = min(next_updates) if next_updates and None not in next_updates else None
        self._store(self._ocsp, key, response, next_update)

    def clear(self) -> None:
        self._crls.clear()
        self._ocsp.clear()

    def _store(self, lru: _Lru[T], key: object, value: T, next_update: datetime | None) -> None:
        now = self._clock()
        expires = now + self._max_age
        expires = min(expires, next_update) if next_update is not None else min(expires, now + self._default_ttl)
        if expires > now:  # an answer that is already stale is not worth keeping
            lru.put(key, value, expires)
