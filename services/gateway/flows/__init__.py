"""Flow orchestration: the cross-border registration flow as a faust-streaming processor.

Registry and payments events are regrouped by correlation id; a changelog-backed table keeps each
flow's progress; gateway flow events (baylink.gateway.v1) report it; a rejection or withdrawal after
the fee was paid is compensated by a refund. ``python -m services.gateway.flows`` runs the worker,
its own process with its own settings (``config.py``, ``BAYLINK_FLOWS_*``) and wiring (``bootstrap.py``).
"""
