"""The whole system (tests/e2e/stack.py) served from a thread of its own, so that synchronous fuzzers
(schemathesis, hypothesis) can call it from the test's thread over real sockets on 127.0.0.1.

The stack's event loop runs in the thread; the test thread only sends requests. ``alive()`` is the
crash oracle: the thread still runs and no server of the stack has stopped.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType

from baylink.runtime.settings import KafkaSettings
from devtools.testpki.loader import TestPKI
from services.gateway.partner.adapters.pki import PkiPaths, issue_city
from tests.e2e.stack import Stack, build_pki, running_stack
from tests.support.console import write_users

START_SECONDS = 120.0
FUZZ_CITY = "440605"  # the partner city whose certificate the partner door's fuzzer presents


class StackThread(AbstractContextManager["StackThread"]):
    def __init__(self, tmp: Path, kafka: KafkaSettings) -> None:
        self.tmp = tmp
        self.kafka = kafka
        self.stack: Stack | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fuzz-stack", daemon=True)

    def __enter__(self) -> StackThread:
        self._thread.start()
        if not self._ready.wait(START_SECONDS):
            raise TimeoutError(f"the stack did not start within {START_SECONDS} s")
        if self.error is not None:
            raise RuntimeError("the stack failed to start") from self.error
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread, which fails with it
            self.error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        pki: TestPKI = build_pki(self.tmp / "pki")
        users = write_users(self.tmp / "console-users.toml")
        async with running_stack(self.tmp, self.kafka, pki, with_payments=True, console_users_file=users) as stack:
            issue_city(stack.gateway.settings.pki_dir, FUZZ_CITY)
            self.stack = stack
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()

    # -- what the fuzzers need -------------------------------------------------------------

    @property
    def running(self) -> Stack:
        assert self.stack is not None, "the stack is not running"
        return self.stack

    @property
    def partner_pki(self) -> PkiPaths:
        return PkiPaths(self.running.gateway.settings.pki_dir)

    def grpc_targets(self) -> dict[str, str]:
        """Door → host:port of each service's gRPC server (the gateway's is the partner-city port)."""
        stack = self.running
        assert stack.payments_port is not None
        return {
            "identity": f"127.0.0.1:{stack.identity.port}",
            "registry": f"127.0.0.1:{stack.registry.port}",
            "payments": f"127.0.0.1:{stack.payments_port}",
            "gateway": f"127.0.0.1:{stack.gateway.partner_port}",
        }

    def alive(self) -> bool:
        return self._thread.is_alive() and self.error is None
