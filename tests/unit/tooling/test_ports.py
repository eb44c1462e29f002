"""Tests' free ports never fall on a port a local deployment binds."""

from __future__ import annotations

import socket

from tests.support.ports import FIXED_PORTS, free_port


def test_free_ports_are_bindable_and_outside_every_fixed_range() -> None:
    for _ in range(200):
        port = free_port()
        assert not any(low <= port <= high for low, high in FIXED_PORTS)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))
