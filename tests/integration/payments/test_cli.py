"""`baylink payments …` against a real payments service over gRPC; audit offline against its database."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from baylink import errors
from baylink.runtime.settings import KafkaSettings
from services.payments.adapters.iso20022 import PACS_008, validate
from services.payments.adapters.tables import accounts
from services.payments.bootstrap import Payments
from services.payments.entrypoints.cli import app as cli
from services.payments.entrypoints.cli_client import describe
from services.payments.service_layer import complete, prepare
from tests.conftest import TopicFactory
from tests.integration.payments.conftest import running
from tests.unit.payments.conftest import Clock, hkd, make_app, quote, request_for

runner = CliRunner()


async def commit_three(app: Payments) -> None:
    for i in range(3):
        q = await quote(app, f"q{i}", hkd("300.00"))
        await prepare.prepare_transfer(app.deps, request_for(q, f"t{i}"))
        await complete.commit_transfer(app.deps, f"t{i}")


def with_transfers(url: str) -> None:
    async def build() -> None:
        app = await make_app(url, Clock())
        await commit_three(app)
        await app.deps.db.dispose()

    asyncio.run(build())


async def invoke(*args: str) -> Result:
    """The command in a thread of its own, so the service on this test's event loop can answer it."""
    return await asyncio.to_thread(runner.invoke, cli, list(args))


@asynccontextmanager
async def served(app: Payments, kafka: KafkaSettings, new_topic: TopicFactory) -> AsyncIterator[list[str]]:
    """The app served on a free port; yields the ``--target`` option that reaches it."""
    async with running(app, kafka, await new_topic("payments")) as svc:
        yield ["--target", f"127.0.0.1:{svc.port}"]


def one_line_refusal(result: Result, code: int, *, alone: bool = False) -> str:
    """The error line on stderr. Only ``alone`` (no service in this process, whose own log lines the
    runner would catch too) can the whole of stderr be checked to be that one line."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, never a traceback
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines and lines[-1] not in result.stdout, result.output
    if alone:
        assert len(lines) == 1, result.stderr
    return lines[-1]


def test_audit_exits_zero_on_a_sound_ledger_and_one_on_a_breach(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    with_transfers(url)
    result = runner.invoke(cli, ["audit", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "ledger invariants hold" in result.output

    async def tamper() -> None:
        engine = sa.ext.asyncio.create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(sa.update(accounts).where(accounts.c.account_id == "FEE:HKD").values(credits_posted=1))
        await engine.dispose()

    asyncio.run(tamper())
    result = runner.invoke(cli, ["audit", "--database-url", url])
    assert result.exit_code == 1
    assert "BREACH" in result.output and "FEE:HKD" in result.output


def test_audit_says_in_its_help_that_it_is_offline() -> None:
    result = runner.invoke(cli, ["audit", "--help"])
    assert result.exit_code == 0
    assert "Offline" in result.output and "--database-url" in result.output


@pytest.mark.kafka
async def test_settle_closes_the_open_window_and_settles_it(
    app: Payments, kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    url = app.settings.database_url
    await commit_three(app)
    async with served(app, kafka_settings, new_topic) as target:
        result = await invoke("settle", *target)
        assert result.exit_code == 0, result.output
        assert "SETTLED, 3 transfers" in result.output and "HKBANK" in result.output
        assert (await invoke("audit", "--database-url", url)).exit_code == 0
        positions = await invoke("positions", "HKBANK", *target)
        assert "0.00 HKD" in positions.output


@pytest.mark.kafka
async def test_settle_close_only_leaves_the_window_closed(
    app: Payments, kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    await commit_three(app)
    async with served(app, kafka_settings, new_topic) as target:
        result = await invoke("settle", "--close-only", *target)
        assert result.exit_code == 0, result.output
        assert "CLOSED, 3 transfers" in result.output


@pytest.mark.kafka
async def test_export_writes_a_pacs008_that_validates(
    app: Payments, kafka_settings: KafkaSettings, new_topic: TopicFactory, tmp_path: Path
) -> None:
    await commit_three(app)
    async with served(app, kafka_settings, new_topic) as target:
        out = tmp_path / "t0.xml"
        result = await invoke("export", "t0", "--out", str(out), *target)
        assert result.exit_code == 0, result.output
        validate(out.read_bytes(), PACS_008)
        printed = await invoke("export", "t0", "--message", "pacs.002", *target)
        assert printed.exit_code == 0 and printed.stdout.startswith("<?xml") and "pacs.002" in printed.stdout


@pytest.mark.kafka
async def test_admin_commands_add_a_participant_set_its_cap_and_a_rate(
    app: Payments, kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    async with served(app, kafka_settings, new_topic) as args:
        added = await invoke(
            "participant-add", "HKBANK9", "--name", "Ninth HK Bank", "--jurisdiction", "HK", "--currency", "HKD", *args
        )
        assert added.exit_code == 0, added.output
        assert (await invoke("cap", "HKBANK9", "250000.00", "HKD", *args)).exit_code == 0
        assert "250000.00 HKD" in (await invoke("positions", "HKBANK9", *args)).output
        refused = await invoke("cap", "HKBANK9", "1.001", "HKD", *args)
        assert refused.exit_code == 2 and "AMOUNT_TOO_PRECISE" in refused.output
        rate = await invoke("rate-set", "HKD", "CNY", "0.9200", "--spread-bps", "50", "--fee-fixed", "5.00", *args)
        assert rate.exit_code == 0 and "customer 0.91540000" in rate.output


@pytest.mark.kafka
async def test_participants_and_windows_are_listed(
    app: Payments, kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    await commit_three(app)
    async with served(app, kafka_settings, new_topic) as args:
        listed = await invoke("participants", *args)
        assert listed.exit_code == 0, listed.output
        assert "HKBANK" in listed.output and "REGISTRY" in listed.output and "GD" in listed.output
        assert (await invoke("settle", *args)).exit_code == 0
        windows = await invoke("windows", *args)
        assert windows.exit_code == 0 and "SETTLED" in windows.output and "OPEN" in windows.output


@pytest.mark.kafka
async def test_refusals_are_one_line_with_the_reason_not_found_exits_one_invalid_input_two(
    app: Payments, kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    await commit_three(app)
    async with served(app, kafka_settings, new_topic) as args:
        unknown = one_line_refusal(await invoke("positions", "NOBANK", *args), 1)
        assert unknown.startswith("NOT_FOUND:") and "NOBANK" in unknown
        assert "NOBANK" in one_line_refusal(await invoke("cap", "NOBANK", "10.00", "HKD", *args), 1)
        # the server's BadRequest field violations are printed
        bad_currency = await invoke("participant-add", "NEWBANK", "--name", "N", "--jurisdiction", "HK",
                                    "--currency", "XXY", *args)  # fmt: skip
        assert "UNKNOWN_CURRENCY" in (line := one_line_refusal(bad_currency, 2)) and "currencies[0]" in line
        too_precise = one_line_refusal(await invoke("cap", "HKBANK", "10.001", "HKD", *args), 2)
        assert "AMOUNT_TOO_PRECISE" in too_precise and "cap.value" in too_precise
        below = one_line_refusal(await invoke("cap", "HKBANK", "0", "HKD", *args), 1)
        assert below.startswith("CAP_BELOW_EXPOSURE:")


def test_a_service_that_is_down_is_named_with_its_address_and_exit_two() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = one_line_refusal(runner.invoke(cli, ["participants", "--target", f"127.0.0.1:{port}"]), 2, alone=True)
    assert line.startswith(f"payments service not reachable at 127.0.0.1:{port}")


def test_an_over_precise_amount_is_refused_before_the_service_is_asked() -> None:
    line = one_line_refusal(
        runner.invoke(cli, ["cap", "HKBANK", "1.001", "HKD", "--target", "127.0.0.1:1"]), 2, alone=True
    )
    assert line.startswith("AMOUNT_TOO_PRECISE:") and "cap.value: more than 2 decimal places for HKD" in line


def test_an_unanswered_or_failed_call_says_which_and_an_internal_one_gives_the_correlation_id() -> None:
    late = errors.Unavailable("DEADLINE_EXCEEDED: Deadline Exceeded", reason="DEADLINE_EXCEEDED")
    assert describe("h:1", late, "c0ffee") == "payments service at h:1 did not answer within 30 s"
    broken = errors.Unavailable("INTERNAL: internal error; quote the correlation id", reason="INTERNAL")
    assert describe("h:1", broken, "c0ffee") == "payments service at h:1 failed (INTERNAL); correlation id c0ffee"
