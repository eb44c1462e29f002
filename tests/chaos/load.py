"""The steady mixed load the chaos scenarios run under, against deploy/cluster.sh, bounded in count and time.

- Registrations end to end through the gateway's kiosk HTTP API (``tests/e2e/kiosk_user.KioskUser``, the
  flow driver the end-to-end test and the flow benchmark use): identify with the test e-Cert, draft,
  attach and sign, submit, quote, pay the fee (a two-phase transfer through payments), wait until the
  registry has consumed the committed transfer, then Nanhai decides over the partner API (mutual TLS):
  every third is rejected, and its fee must come back as exactly one refund (the flow worker's doing).
- Partner-city reads: Nanhai reads the applications it knows over gRPC mTLS, a few a second.

A kiosk call that meets a dead gateway (connection refused or reset, 502/503/504) is tried again on the
other replica: sessions live in the gateway's database, so either serves it. Every call is recorded with
when it started and ended, so a scenario can say when the first call after its fault succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import httpx
from grpc import aio

from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.gateway.v1 import partner_city_service_pb2_grpc as api_grpc
from baylink.payments.v1 import payments_service_pb2 as pay
from baylink.payments.v1 import payments_service_pb2_grpc as pay_grpc
from baylink.payments.v1 import transfer_pb2 as tr
from baylink.runtime.grpc.client import internal_channel
from baylink.runtime.grpc.tls import OPERATOR, InternalTransport
from devtools.testpki.loader import TestPKI
from services.gateway.kiosk.adapters.device_pki import KioskPkiPaths, client_context, issue_kiosk
from services.gateway.partner.adapters.pki import PkiPaths, issue_city
from services.gateway.partner.entrypoints.mtls import city_channel_credentials
from tests.chaos.cluster import ROOT, Cluster
from tests.e2e.kiosk_user import CHAN, LEE, KioskUser, Person
from tests.integration.registry.kiosk import trade_name

T = TypeVar("T")
NANHAI = "440605"
RETRY_STATUS = {502, 503, 504}
RETRYABLE_GRPC = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
PEOPLE: tuple[Person, ...] = (CHAN, LEE)


@dataclass
class Call:
    kind: str
    started: float
    ended: float
    ok: bool
    error: str = ""


@dataclass
class Calls:
    """Every call the load made, in order of ending."""

    done: list[Call] = field(default_factory=list)

    def add(self, kind: str, started: float, ok: bool, error: str = "") -> None:
        self.done.append(Call(kind, started, time.monotonic(), ok, error))

    def first_success_after(self, moment: float, kinds: tuple[str, ...] = ()) -> float | None:
        """Seconds from ``moment`` to the end of the first successful call started after it."""
        ends = [c.ended for c in self.done if c.ok and c.started >= moment and (not kinds or c.kind in kinds)]
        return min(ends) - moment if ends else None

    def failures_between(self, start: float, end: float) -> list[Call]:
        return [c for c in self.done if not c.ok and start <= c.started <= end]


class FailoverKiosk:
    """One kiosk's client of every gateway replica: a call meeting a dead gateway goes to the next one."""

    def __init__(self, urls: list[str], pki_dir: Any, kiosk_id: str, calls: Calls, deadline_seconds: float = 40):
        paths = KioskPkiPaths.under(pki_dir)
        if not paths.device_cert(kiosk_id).exists():
            issue_kiosk(pki_dir, kiosk_id)
        context = client_context(paths, kiosk_id)
        self.clients = [httpx.AsyncClient(base_url=u, verify=context, timeout=30) for u in urls]
        self.turn = itertools.count()
        self.calls, self.deadline_seconds = calls, deadline_seconds

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        give_up = time.monotonic() + self.deadline_seconds
        while True:
            client = self.clients[next(self.turn) % len(self.clients)]
            started = time.monotonic()
            try:
                response = await client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                self.calls.add("kiosk", started, False, f"{type(exc).__name__}")
            else:
                if response.status_code not in RETRY_STATUS:
                    self.calls.add("kiosk", started, response.status_code < 500, str(response.status_code))
                    return response
                self.calls.add("kiosk", started, False, f"{response.status_code} {response.text[:200]}")
                if time.monotonic() > give_up:
                    return response
            if time.monotonic() > give_up:
                raise TimeoutError(f"{method} {path}: no gateway answered for {self.deadline_seconds:.0f} s")
            await asyncio.sleep(0.25)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


@dataclass
class Registration:
    n: int
    application_id: str = ""
    payment_reference: str = ""
    decision: str = ""  # approve | reject
    paid_at: float = 0.0  # when the kiosk heard the fee transfer committed (the acknowledgement)
    fee_transfer_id: str = ""
    fee_paid_seen: bool = False  # the registry consumed the committed transfer
    decided: bool = False
    refund_seconds: float | None = None  # decision → refund committed
    abandoned: str = ""  # why it never reached payment (no money moved)
    error: str = ""


class Load:
    """Registrations and partner reads until ``registrations`` have been started or ``seconds`` pass."""

    def __init__(self, cluster: Cluster, *, registrations: int = 6, kiosks: int = 3, seconds: float = 60):
        self.cluster, self.target, self.kiosks, self.seconds = cluster, registrations, kiosks, seconds
        self.calls = Calls()
        self.run_id = uuid.uuid4().hex[:6]
        self.registrations: list[Registration] = []
        self._numbers = itertools.count()
        self.pki = TestPKI(ROOT / "devtools" / "data" / "testpki")
        pki_dir = cluster.pki_dir
        if not PkiPaths(pki_dir).city_cert(NANHAI).exists():
            issue_city(pki_dir, NANHAI)
        credentials = city_channel_credentials(PkiPaths(pki_dir), NANHAI)
        self.partner_channels = [aio.secure_channel(t, credentials) for t in cluster.partner_targets()]
        self.partners = [api_grpc.PartnerCityServiceStub(c) for c in self.partner_channels]
        transport = InternalTransport.from_settings(cluster.internal(), OPERATOR)
        self.payments_channel = internal_channel(cluster.target("payments"), transport, "payments")
        self.payments = pay_grpc.PaymentsServiceStub(self.payments_channel)
        self._partner_turn = itertools.count()
        self._stop = asyncio.Event()

    async def close(self) -> None:
        for channel in (*self.partner_channels, self.payments_channel):
            await channel.close()

    # -- running

    async def run(self) -> None:
        """Start registrations until the count or the time is reached; wait for every started one to end."""
        self.started_at = time.monotonic()
        reader = asyncio.create_task(self._partner_reads())
        try:
            async with asyncio.timeout(self.seconds + 150):
                await asyncio.gather(*(self._kiosk(k) for k in range(self.kiosks)))
        finally:
            self._stop.set()
            await reader

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    async def _kiosk(self, k: int) -> None:
        kiosk_id = f"HK-CHAOS-{k:02d}"
        http = FailoverKiosk(self.cluster.kiosk_urls(), self.cluster.pki_dir, kiosk_id, self.calls)
        try:
            while self.elapsed() < self.seconds:
                n = next(self._numbers)
                if n >= self.target:
                    return
                reg = Registration(n, decision="reject" if n % 3 == 2 else "approve")
                self.registrations.append(reg)
                try:
                    await self._register(http, kiosk_id, reg)
                except Exception as exc:  # noqa: BLE001 - recorded; the checks after the run judge it
                    reg.error = f"{type(exc).__name__}: {exc}"[:400]
        finally:
            await http.aclose()

    async def _register(self, http: FailoverKiosk, kiosk_id: str, reg: Registration) -> None:
        person = PEOPLE[reg.n % len(PEOPLE)]
        kiosk = KioskUser(http, self.pki, kiosk_id=kiosk_id)  # type: ignore[arg-type]  # duck-typed client
        # Up to payment no money moves: a step that fails starts the registration afresh (bounded).
        for attempt in range(3):
            try:
                await kiosk.open()
                name = trade_name(10_000 + reg.n * 7 + attempt + int(self.run_id, 16) % 100_000 * 31)
                _, submitted = await kiosk.submitted(person, name)
                reg.application_id = submitted["application_id"]
                reg.payment_reference = submitted["fee"]["payment_reference"]
                break
            except (AssertionError, TimeoutError, KeyError, TypeError) as exc:
                reg.abandoned = f"{type(exc).__name__}: {exc}"[:300]
        else:
            return
        reg.abandoned = ""
        await self._pay(kiosk, reg)
        await self._fee_paid(kiosk, reg)
        await self._decide(reg)
        if reg.decision == "reject":
            await self._refunded(reg)

    async def _pay(self, kiosk: KioskUser, reg: Registration) -> None:
        quote = await kiosk.quote(reg.application_id, "HKD")
        assert quote.status_code == 200, quote.text
        quote_id = quote.json()["quote_id"]
        give_up = time.monotonic() + 60
        while True:  # the same quote again: the transfer id derives from it, so payments never pays twice
            paid = await kiosk.pay(reg.application_id, quote_id)
            if paid.status_code == 200 and paid.json()["state"] == "committed":
                reg.paid_at, reg.fee_transfer_id = time.monotonic(), paid.json()["transfer_id"]
                return
            if paid.status_code == 409 and "FEE_ALREADY_PAID" in paid.text:
                reg.paid_at = time.monotonic()  # an earlier attempt landed; its answer was lost
                return
            if time.monotonic() > give_up:
                raise AssertionError(f"pay: {paid.status_code} {paid.text[:300]}")
            await asyncio.sleep(0.5)

    async def _fee_paid(self, kiosk: KioskUser, reg: Registration, timeout: float = 90) -> None:
        async with asyncio.timeout(timeout):
            while not (await kiosk.track(reg.application_id))["fee_paid"]:
                await asyncio.sleep(0.3)
        reg.fee_paid_seen = True

    async def _partner(self, method: str, request: Any, timeout: float = 10) -> Any:
        give_up = time.monotonic() + 40
        while True:
            stub = self.partners[next(self._partner_turn) % len(self.partners)]
            started = time.monotonic()
            try:
                answer = await getattr(stub, method)(request, timeout=timeout)
            except aio.AioRpcError as exc:
                self.calls.add("partner", started, False, f"{exc.code().name}: {exc.details()}")
                if exc.code() not in RETRYABLE_GRPC or time.monotonic() > give_up:
                    raise
                await asyncio.sleep(0.25)
                continue
            self.calls.add("partner", started, True)
            return answer

    async def _decide(self, reg: Registration) -> None:
        decision = pc.DECISION_APPROVE if reg.decision == "approve" else pc.DECISION_REJECT
        request = api.DecideApplicationRequest(
            request_id=f"chaos-{self.run_id}-{reg.n}", application_id=reg.application_id, decision=decision,
            reviewer_id="chaos",
        )  # fmt: skip
        if decision == pc.DECISION_REJECT:
            request.reason.en = "chaos: rejected on purpose"
        self.decided_at = time.monotonic()
        await self._partner("DecideApplication", request)
        reg.decided = True
        reg.decided_at = time.monotonic()  # type: ignore[attr-defined]

    async def _refunded(self, reg: Registration, timeout: float = 150) -> None:
        started = time.monotonic()
        async with asyncio.timeout(timeout):
            while not await self.committed(f"REFUND-{reg.application_id}"):
                await asyncio.sleep(0.5)
        reg.refund_seconds = time.monotonic() - started
        self.calls.add("refund", started, True)

    async def _partner_reads(self) -> None:
        while not self._stop.is_set():
            known = [r.application_id for r in self.registrations if r.application_id]
            if known:
                request = api.GetApplicationRequest(application_id=known[len(known) // 2])
                with contextlib.suppress(aio.AioRpcError):
                    await self._partner("GetApplication", request, timeout=5)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.5)

    # -- what payments holds

    async def transfers(self, reference: str) -> list[tr.Transfer]:
        async def listed() -> Any:
            return await self.payments.ListTransfers(pay.ListTransfersRequest(reference=reference), timeout=10)

        return list((await retrying(listed)).transfers)

    async def committed(self, reference: str) -> list[tr.Transfer]:
        return [t for t in await self.transfers(reference) if t.state == tr.TRANSFER_STATE_COMMITTED]

    async def application(self, application_id: str) -> Any:
        return (
            await self._partner("GetApplication", api.GetApplicationRequest(application_id=application_id))
        ).application


async def retrying(call: Callable[[], Awaitable[T]], seconds: float = 60) -> T:
    give_up = time.monotonic() + seconds
    while True:
        try:
            return await call()
        except aio.AioRpcError as exc:
            if exc.code() not in RETRYABLE_GRPC or time.monotonic() > give_up:
                raise
            await asyncio.sleep(0.5)
