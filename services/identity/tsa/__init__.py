"""Baylink's time-stamping authority: RFC 3161 tokens over HTTP, for CAdES B-T signatures.

A process of its own (``python -m services.identity.tsa``), beside the identity service: the
registry asks it for a signature-time-stamp over every signature it stores. Its key and
certificate are configuration (``BAYLINK_TSA_*``); locally they come from the test PKI. See
docs/identity.md, "Time-stamping authority".
"""
