"""The registry's own CPU per registration, by use case (not tests).

    .venv/bin/python -m benchmarks.registry_store_bench [--flows 30] [--polls 10]

The registry's real use cases on its real database (a SQLite file; and PostgreSQL when
BAYLINK_TEST_POSTGRES_URL is set, in a fresh database dropped afterwards), in this process, with
the identity service and the TSA as the unit tests' in-process fakes (their CPU is not the
registry's): each flow drafts, declares a name, attaches five materials and signs three (each
signature read, stored with its evidence), submits, gets the fee paid (as the fee consumer does),
starts review and approves (USCC issued); ``--polls`` GetApplication reads per flow stand for the
gateway polling while a kiosk waits. Prints process CPU (``time.process_time``) per flow and per
use case, with the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from baylink.runtime.db import Database
from benchmarks.procs import load_average
from services.registry.bootstrap import MIGRATIONS, bootstrap
from services.registry.config import RegistrySettings
from services.registry.domain.enterprise import required_signers
from services.registry.domain.names import NameDeclaration
from services.registry.service_layer import applicant, authority, queries, signing
from services.registry.service_layer.background import mark_fee_paid
from services.registry.service_layer.context import Registry
from tests.conftest import POSTGRES_URL_VAR, postgres_database
from tests.unit.registry.fakes import FakeIdentity, FakeTimeStamper
from tests.unit.registry.flow import AUTHORITY, document, drafted, fresh_trade_name

T = TypeVar("T")


class Meter:
    """Process CPU per use case."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    async def __call__(self, name: str, call: Callable[[], Awaitable[T]]) -> T:
        start = time.process_time()
        result = await call()
        self.cpu[name] += time.process_time() - start
        self.calls[name] += 1
        return result


async def one_flow(registry: Registry, meter: Meter, polls: int) -> None:
    app = await meter("draft", lambda: drafted(registry))
    declaration = NameDeclaration("", fresh_trade_name(), "贸易", "有限公司")
    app = await meter(
        "declare_name", lambda: applicant.declare_name(registry, applicant.DeclareName(app.application_id, declaration))
    )
    for requirement in registry.item_of(app).materials:
        if not requirement.mandatory:
            continue
        content = document(requirement.material_type)
        attach = applicant.AttachMaterial(app.application_id, requirement.material_type, "doc.pdf", "", content)
        app, material = await meter("attach_material", lambda: applicant.attach_material(registry, attach))  # noqa: B023
        for signer in required_signers(app.enterprise, requirement):
            sign = signing.SignMaterial(
                app.application_id, material.material_id, FakeIdentity.sign(signer.certificate_sha256, content)
            )
            app, _ = await meter("sign_material", lambda: signing.sign_material(registry, sign))  # noqa: B023
    for _ in range(polls):
        await meter("get_application", lambda: queries.get_application(registry, app.application_id))
    app = await meter("submit", lambda: applicant.submit(registry, applicant.SubmitApplication(app.application_id)))

    async def pay() -> None:
        async with registry.uow() as work:
            await mark_fee_paid(work, app.fee.payment_reference, "tr-" + app.application_id, "CNY", app.fee.minor_units)

    await meter("mark_fee_paid", pay)
    review = authority.StartReview(app.application_id, "officer-7", AUTHORITY)
    await meter("start_review", lambda: authority.start_review(registry, review))
    approve = authority.ApproveApplication(app.application_id, "officer-7", AUTHORITY)
    await meter("approve", lambda: authority.approve(registry, approve))


async def measure(url: str, flows: int, polls: int, label: str) -> None:
    db = Database(url)
    await db.migrate([MIGRATIONS])
    settings = RegistrySettings(grpc_port=0, metrics_port=0, database_url=url)
    service = bootstrap(settings, identity=FakeIdentity(), db=db, timestamps=FakeTimeStamper())
    try:
        await one_flow(service.registry, Meter(), polls)  # warm: statements compiled, caches filled
        meter = Meter()
        start = time.process_time()
        for _ in range(flows):
            await one_flow(service.registry, meter, polls)
        total = time.process_time() - start
    finally:
        await db.dispose()
    print(f"{label}: {flows} flows, {polls} GetApplication each; load {load_average()}")
    print(f"  CPU per registration: {total / flows * 1000:.1f} ms")
    for name, cpu in sorted(meter.cpu.items(), key=lambda kv: -kv[1]):
        calls = meter.calls[name]
        per_flow = cpu / flows * 1000
        print(f"  {name:16} {calls / flows:4.1f}/flow  {cpu / calls * 1000:6.2f} ms each  {per_flow:6.1f} ms/flow")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=30)
    parser.add_argument("--polls", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await measure(f"sqlite+aiosqlite:///{Path(tmp) / 'registry.db'}", args.flows, args.polls, "SQLite")
    if os.environ.get(POSTGRES_URL_VAR):
        async with postgres_database() as url:
            await measure(url, args.flows, args.polls, "PostgreSQL")


if __name__ == "__main__":
    asyncio.run(main())
