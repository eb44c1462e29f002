"""Revocation fetching for pyhanko-certvalidator: CRL over HTTP GET, OCSP over HTTP POST (RFC 6960).

One `RevocationFetchers` per validation: it owns a lazily opened aiohttp session (closed when the
validation ends, so no session outlives its event loop) and goes through the process-wide
`RevocationCache` first. OCSP responses a document carries (a PDF's DSS: `known_ocsp`) answer
when the responder cannot, as long as they are current at the validation time (to their
nextUpdate); a responder that answers is preferred. Every request has a timeout and a size cap.
Issuer certificates are not fetched from AIA: callers supply intermediates, which bounds latency and keeps hostile
certificates from steering our HTTP client.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import aiohttp
from asn1crypto import cms, crl, ocsp, x509
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.errors import CRLFetchError, OCSPFetchError
from pyhanko_certvalidator.fetchers.api import CertificateFetcher, CRLFetcher, Fetchers, OCSPFetcher

from services.identity.adapters.revocation_cache import RevocationCache, answers_for, ocsp_current_at, ocsp_key


@dataclass(frozen=True)
class FetchSettings:
    timeout_seconds: float = 3.0
    max_response_bytes: int = 10 * 1024 * 1024
    # Hosts revocation may be fetched from; None allows any. URLs come from certificates, so a
    # deployment can pin the CAs' responder hosts and tests pin loopback.
    allowed_hosts: frozenset[str] | None = None


class HttpClient:
    def __init__(self, settings: FetchSettings) -> None:
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0

    async def get(self, url: str) -> bytes:
        return await self._request("GET", url, None, None)

    async def post(self, url: str, body: bytes, content_type: str) -> bytes:
        return await self._request("POST", url, body, content_type)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(self, method: str, url: str, body: bytes | None, content_type: str | None) -> bytes:
        parsed = urlsplit(url)
        if parsed.scheme not in ("http", "https"):
            raise aiohttp.InvalidURL(url)
        if self._settings.allowed_hosts is not None and parsed.hostname not in self._settings.allowed_hosts:
            raise aiohttp.InvalidURL(f"{url}: host not allowed")
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self._settings.timeout_seconds)
            self._session = aiohttp.ClientSession(timeout=timeout)
        self.requests += 1
        headers = {"Content-Type": content_type} if content_type else {}
        async with self._session.request(method, url, data=body, headers=headers) as response:
            response.raise_for_status()
            return await self._read_capped(response)

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        chunks, size = [], 0
        async for chunk in response.content.iter_chunked(65536):
            size += len(chunk)
            if size > self._settings.max_response_bytes:
                raise aiohttp.ClientPayloadError("revocation response exceeds the size cap")
            chunks.append(chunk)
        return b"".join(chunks)


FETCH_ERRORS = (aiohttp.ClientError, TimeoutError, ValueError, TypeError, KeyError)


def build_ocsp_request(cert: x509.Certificate, issuer_public_key_sha1: bytes) -> ocsp.OCSPRequest:
    # SHA-1 CertIDs: RFC 5019 responders are only required to support those.
    cert_id = ocsp.CertId(
        {
            "hash_algorithm": {"algorithm": "sha1"},
            "issuer_name_hash": cert.issuer.sha1,
            "issuer_key_hash": issuer_public_key_sha1,
            "serial_number": cert.serial_number,
        }
    )
    return ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}})


class Freshness:
    """The caller's `max_revocation_age`: information issued longer ago than that (now minus its
    thisUpdate) does not count, whether cached or just fetched. None: no limit of the caller's."""

    def __init__(self, max_age: timedelta | None, clock: Callable[[], datetime]) -> None:
        self._max_age, self._clock = max_age, clock

    def crl_ok(self, certificate_list: crl.CertificateList | None) -> bool:
        if certificate_list is None or self._max_age is None:
            return certificate_list is not None
        return self._recent(certificate_list["tbs_cert_list"]["this_update"].native)

    def ocsp_ok(self, response: ocsp.OCSPResponse | None) -> bool:
        if response is None or self._max_age is None:
            return response is not None
        singles = response["response_bytes"]["response"].parsed["tbs_response_data"]["responses"]
        return bool(len(singles)) and all(self._recent(single["this_update"].native) for single in singles)

    def _recent(self, issued: datetime) -> bool:
        assert self._max_age is not None
        return self._clock() - issued <= self._max_age


class _OCSP(OCSPFetcher):
    def __init__(
        self,
        http: HttpClient,
        cache: RevocationCache,
        fresh: Freshness,
        known: tuple[ocsp.OCSPResponse, ...] = (),
        moment: datetime | None = None,
    ) -> None:
        self._http, self._cache, self._fresh = http, cache, fresh
        self._known, self._moment = known, moment
        self._used: list[ocsp.OCSPResponse] = []

    async def fetch(
        self, cert: x509.Certificate | cms.AttributeCertificateV2, authority: Authority
    ) -> ocsp.OCSPResponse:
        if not isinstance(cert, x509.Certificate):
            raise OCSPFetchError("attribute certificates are not supported")
        request = build_ocsp_request(cert, authority.public_key.sha1).dump()
        errors = []
        for url in cert.ocsp_urls:
            try:
                response = ocsp.OCSPResponse.load(await self._http.post(url, request, "application/ocsp-request"))
                status = response["response_status"].native
                if status != "successful":
                    raise ValueError(f"responder said {status}")
                self._cache.put_ocsp(ocsp_key(cert), response)
                if not self._fresh.ocsp_ok(response):
                    raise ValueError("the answer is older than the policy's max_revocation_age")
                self._used.append(response)
                return response
            except FETCH_ERRORS as exc:
                errors.append(f"{url}: {type(exc).__name__} {exc}")
        carried = self._carried(cert)
        if carried is not None:
            self._used.append(carried)
            return carried
        raise OCSPFetchError("; ".join(errors) or "no OCSP responder")

    def _carried(self, cert: x509.Certificate) -> ocsp.OCSPResponse | None:
        """A response the document carries for `cert`, current at the validation time, if any."""
        for response in self._known:
            try:
                usable = answers_for(response, cert) and self._fresh.ocsp_ok(response)
                if usable and (self._moment is None or ocsp_current_at(response, self._moment)):
                    return response
            except (ValueError, KeyError, TypeError):
                continue
        return None

    def fetched_responses(self) -> Iterable[ocsp.OCSPResponse]:
        return list(self._used)

    def fetched_responses_for_cert(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> list[ocsp.OCSPResponse]:
        if not isinstance(cert, x509.Certificate):
            return []
        cached = self._cache.get_ocsp(ocsp_key(cert))
        if cached is None or not self._fresh.ocsp_ok(cached):
            return []
        self._used.append(cached)
        return [cached]


class _CRL(CRLFetcher):
    def __init__(self, http: HttpClient, cache: RevocationCache, fresh: Freshness) -> None:
        self._http, self._cache, self._fresh = http, cache, fresh
        self._used: dict[str, crl.CertificateList] = {}

    async def fetch(
        self,
        cert: x509.Certificate | cms.AttributeCertificateV2,
        *,
        use_deltas: bool | None = None,
    ) -> Iterable[crl.CertificateList]:
        urls = _crl_urls(cert)
        found, errors = [], []
        for url in urls:
            try:
                cached = self._cache.get_crl(url)
                certificate_list = (
                    cached if cached is not None and self._fresh.crl_ok(cached) else await self._download(url)
                )
                if not self._fresh.crl_ok(certificate_list):
                    raise ValueError("the CRL is older than the policy's max_revocation_age")
                self._used[url] = certificate_list
                found.append(certificate_list)
            except FETCH_ERRORS as exc:
                errors.append(f"{url}: {type(exc).__name__} {exc}")
        if not found:
            raise CRLFetchError("; ".join(errors) or "no CRL distribution point")
        return found

    async def _download(self, url: str) -> crl.CertificateList:
        certificate_list = crl.CertificateList.load(await self._http.get(url))
        certificate_list.native  # noqa: B018 - parse everything now, so malformed CRLs fail here
        self._cache.put_crl(url, certificate_list)
        return certificate_list

    def fetched_crls(self) -> Iterable[crl.CertificateList]:
        return list(self._used.values())

    def fetched_crls_for_cert(self, cert: x509.Certificate | cms.AttributeCertificateV2) -> list[crl.CertificateList]:
        urls = _crl_urls(cert)
        cached = [self._cache.get_crl(url) for url in urls]
        if not urls or not all(self._fresh.crl_ok(c) for c in cached):
            raise KeyError("not every CRL of this certificate is cached")
        for url, certificate_list in zip(urls, cached, strict=True):
            if certificate_list is not None:
                self._used[url] = certificate_list
        return [c for c in cached if c is not None]


class _NoCertificateFetching(CertificateFetcher):
    async def fetch_cert_issuers(
        self,
        cert: x509.Certificate | cms.AttributeCertificateV2,
    ) -> AsyncGenerator[x509.Certificate, None]:
        return
        yield  # pragma: no cover - makes this an (empty) async generator

    async def fetch_crl_issuers(self, certificate_list: crl.CertificateList) -> AsyncGenerator[x509.Certificate, None]:
        return
        yield  # pragma: no cover

    def fetched_certs(self) -> Iterable[x509.Certificate]:
        return []


def _crl_urls(cert: x509.Certificate | cms.AttributeCertificateV2) -> list[str]:
    if not isinstance(cert, x509.Certificate):
        return []
    urls: list[str] = []
    for point in cert.crl_distribution_points:
        name = point["distribution_point"]
        if name.name == "full_name":
            urls.extend(g.native for g in name.chosen if g.name == "uniform_resource_identifier")
    return urls


class RevocationFetchers:
    """The pyhanko `Fetchers` of one validation, plus the session to close afterwards."""

    def __init__(
        self,
        cache: RevocationCache,
        settings: FetchSettings,
        max_age: timedelta | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        known_ocsp: tuple[ocsp.OCSPResponse, ...] = (),
        moment: datetime | None = None,
    ) -> None:
        """`known_ocsp`: responses the document carries, used when the responder does not answer
        and current at `moment` (the validation time)."""
        self.http = HttpClient(settings)
        fresh = Freshness(max_age, clock)
        self.fetchers = Fetchers(
            _OCSP(self.http, cache, fresh, known_ocsp, moment), _CRL(self.http, cache, fresh), _NoCertificateFetching()
        )

    async def close(self) -> None:
        await self.http.close()
