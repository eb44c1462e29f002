"""Tests' free ports: never a port a local deployment binds, never one an outgoing connection may
take before the server binds it, never one given to another process a moment ago."""

from __future__ import annotations

import os
import random
import socket
import time
from pathlib import Path

import pytest

from tests.support import ports
from tests.support.ports import FIXED_PORTS, free_port


def _ephemeral_low() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


@pytest.fixture
def claims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(ports, "_CLAIMS", tmp_path / "claims")
    return tmp_path / "claims"


@pytest.fixture
def below(monkeypatch: pytest.MonkeyPatch) -> None:
    """A range below the ephemeral one whatever this machine's is (the claims' tests need one)."""
    monkeypatch.setattr(ports, "_below_ephemeral", lambda: (ports.LOWEST, 30_000))


def test_free_ports_are_bindable_distinct_and_outside_every_fixed_range(claims: Path) -> None:
    given = [free_port() for _ in range(200)]
    assert len(set(given)) == len(given)
    for port in given:
        assert not any(low <= port <= high for low, high in FIXED_PORTS)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))


def test_free_ports_come_from_below_the_kernels_ephemeral_range(claims: Path) -> None:
    """Where outgoing connections never get their local port; where the range leaves too little
    room below it, the kernel's pick, inside the range."""
    low = _ephemeral_low()
    if low - ports.LOWEST >= 4096:
        assert all(ports.LOWEST <= free_port() < low for _ in range(100))
    else:
        assert all(free_port() >= low for _ in range(100))


def test_a_port_claimed_by_another_process_is_not_given_until_the_claim_is_old(
    claims: Path, below: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = free_port()
    picks = iter([first, first + 1 if not ports._fixed(first + 1) else first - 1])
    monkeypatch.setattr(random, "randrange", lambda *_: next(picks))
    assert free_port() != first  # claimed a moment ago: skipped
    old = time.time() - ports.CLAIM_SECONDS - 1
    os.utime(claims / str(first), (old, old))
    monkeypatch.setattr(random, "randrange", lambda *_: first)
    assert free_port() == first


def test_a_port_something_listens_on_is_skipped(claims: Path, below: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:
        busy = free_port()
        listener.bind(("127.0.0.1", busy))
        listener.listen()
        (claims / str(busy)).unlink()  # as if its claim had expired long ago
        other = busy + 1 if not ports._fixed(busy + 1) else busy - 1
        picks = iter([busy, other])
        monkeypatch.setattr(random, "randrange", lambda *_: next(picks))
        assert free_port() == other
