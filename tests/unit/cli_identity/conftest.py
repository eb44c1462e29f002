"""Fixtures of the `baylink identity` / `baylink trustlist` CLI tests: the committed test PKI's files
and its CRL/OCSP responder, live on the loopback port its certificates name (127.0.0.1:8399).

The CLI runs its own event loop (asyncio.run) inside CliRunner, so the responder gets a loop of
its own in a background thread."""

from __future__ import annotations

import asyncio
import shutil
import threading
import urllib.request
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.testpki.loader import COMMITTED, TestPKI
from devtools.testpki.responder import RevocationResponder

CERTS = COMMITTED / "certs"
KEYS = COMMITTED / "keys"
LISTS = COMMITTED / "trustlists"
SAMPLE_LISTS = COMMITTED.parent / "trustlists"
SIGNERS = [CERTS / f"tl-signer-{j}.pem" for j in ("hk", "mo", "gd")]


def signer_args() -> list[str]:
    return [arg for path in SIGNERS for arg in ("--signer", str(path))]


def trust_list_args() -> list[str]:
    return ["--trust-list", str(LISTS), *signer_args()]


class ThreadedLoop:
    """An event loop of its own in a daemon thread, for servers the synchronous CLI tests talk to."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=timeout)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


class ThreadedResponder(ThreadedLoop):
    """The test PKI's `RevocationResponder` on a threaded loop."""

    def __init__(self, pki: TestPKI) -> None:
        super().__init__("revocation-responder")
        self.server = RevocationResponder(pki)

    def close(self) -> None:
        self.run(self.server.stop())
        super().close()


@pytest.fixture(scope="session")
def pki() -> TestPKI:
    return TestPKI(COMMITTED)


def _serving_elsewhere(base_url: str) -> bool:
    """Whether the port already serves this PKI's CRLs (e.g. `make up` runs the same responder)."""
    try:
        with urllib.request.urlopen(f"{base_url}/crl/hk-ca.crl", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def responder(pki: TestPKI) -> Iterator[ThreadedResponder | None]:
    """Ours, or None when the deployment's responder for the same committed PKI already serves it."""
    port = int(pki.base_url.rsplit(":", 1)[1])
    live = ThreadedResponder(pki)
    try:
        live.run(live.server.start(port=port))
    except OSError as exc:
        live.close()
        if _serving_elsewhere(pki.base_url):
            yield None
            return
        pytest.fail(f"cannot serve the test PKI's revocation on {pki.base_url} ({exc}); is something else on it?")
    yield live
    live.close()


@pytest.fixture
def responder_down(responder: ThreadedResponder | None) -> Iterator[ThreadedResponder]:
    """The responder's socket closed (connection refused) for one test, then reopened."""
    if responder is None:
        pytest.skip("the test PKI's responder on 127.0.0.1:8399 is not ours to stop (`make up` is running)")
    responder.run(responder.server.go_down())
    yield responder
    responder.run(responder.server.come_back())


@pytest.fixture
def lists_copy(tmp_path: Path) -> Path:
    """A writable copy of the committed test trust lists, with their signer certificates beside them."""
    directory = tmp_path / "lists"
    shutil.copytree(LISTS, directory)
    for signer in SIGNERS:
        shutil.copy(signer, directory / signer.name)
    return directory


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups into the node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The committed test PKI names one responder port: its tests share one xdist worker. When they were
    # split over two (pytest 9.2 with xdist 3.8 ignores the groups; pyproject pins pytest below it),
    # one worker's responder closing left the other's tests with revocation_unavailable.
    for item in items:
        if "tests/unit/cli_identity/" in item.nodeid:
            item.add_marker(pytest.mark.xdist_group("testpki-responder-8399"))
