"""Baylink: shared runtime, operator CLI and the generated contracts.

- ``baylink.runtime``: what every service stands on (settings, logging, metrics,
  gRPC server, CloudEvents over Kafka, outbox relay, idempotent consumer, database).
- ``baylink.errors``: the domain error hierarchy (no gRPC in it).
- ``baylink.ids``: identifiers of the three jurisdictions (HKID, USCC, ...).
- ``baylink.cli``: the ``baylink`` command.
- ``baylink.<service>.v1`` and ``baylink.events.v1``: generated from ``protos/`` by
  ``make protos``; never edit them by hand.
"""
