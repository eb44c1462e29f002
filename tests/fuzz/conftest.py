"""The fuzzers' fixtures: one running stack for the whole fuzz run, ONE fixture that makes HTTP clients
(``http_client``) and ONE that makes gRPC channels (``grpc_channel``).

Those two are the only places that say how a caller connects: when the kiosk needs a device
certificate or internal gRPC needs mutual TLS, only they change.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator

import grpc
import httpx
import pytest

from baylink.runtime.settings import KafkaSettings
from services.gateway.kiosk.adapters.device_pki import client_context, issue_kiosk
from services.gateway.partner.entrypoints.mtls import city_channel_credentials
from tests.fuzz.budget import TALLY
from tests.fuzz.stack_thread import FUZZ_CITY, StackThread

HTTP_TIMEOUT_SECONDS = 30.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # the client never refuses a big request itself: the server must

HttpClients = Callable[[str], httpx.Client]
Channels = Callable[[str], grpc.Channel]


@pytest.fixture(scope="session")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory, kafka_settings: KafkaSettings) -> Iterator[StackThread]:
    with StackThread(tmp_path_factory.mktemp("fuzz-stack"), kafka_settings) as stack:
        yield stack


FUZZ_KIOSK = "HK-FUZZ-01"


@pytest.fixture(scope="session")
def http_client(fuzz_stack: StackThread) -> Iterator[HttpClients]:
    """``http_client("kiosk")`` / ``http_client("console")``: a client of that door, base URL set."""
    stack = fuzz_stack.running
    assert stack.gateway.console is not None
    bases = {"kiosk": stack.gateway.kiosk_url, "console": f"http://127.0.0.1:{stack.gateway.console.port}"}
    made: list[httpx.Client] = []

    def make(door: str) -> httpx.Client:
        verify: ssl.SSLContext | bool = True
        if door == "kiosk":  # the kiosk door: mutual TLS with a kiosk's device certificate
            paths = stack.gateway.kiosk_pki
            if not paths.device_cert(FUZZ_KIOSK).exists():
                issue_kiosk(stack.gateway.settings.pki_dir, FUZZ_KIOSK)
            verify = client_context(paths, FUZZ_KIOSK)
        client = httpx.Client(base_url=bases[door], timeout=HTTP_TIMEOUT_SECONDS, verify=verify)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture(scope="session")
def grpc_channel(fuzz_stack: StackThread) -> Iterator[Channels]:
    """``grpc_channel("identity" | "registry" | "payments" | "gateway")``: a channel to that server."""
    targets = fuzz_stack.grpc_targets()
    options = [("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
    made: list[grpc.Channel] = []

    def make(door: str) -> grpc.Channel:
        if door == "gateway":  # the partner-city port: mutual TLS with a city's certificate
            credentials = city_channel_credentials(fuzz_stack.partner_pki, FUZZ_CITY)
            channel = grpc.secure_channel(targets[door], credentials, options=options)
        else:
            channel = grpc.insecure_channel(targets[door], options=options)
        made.append(channel)
        return channel

    yield make
    for channel in made:
        channel.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = TALLY.lines()
    if lines:
        terminalreporter.section("fuzzing: per door")
        for line in lines:
            terminalreporter.write_line(line)
