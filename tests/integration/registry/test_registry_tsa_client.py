"""The registry's TSA client against Baylink's TSA: a token added as the signature-time-stamp, or
UNAVAILABLE (TSA_UNAVAILABLE) saying why: refused, unreachable, or answering something else."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms

from baylink import errors
from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import COMMITTED, TestPKI
from services.identity.tsa.server import TimeStampServer
from services.registry.adapters.timestamps import HttpTimeStamper
from tests.support.tsa import make_authority

PKI = TestPKI(COMMITTED)
SIGNATURE = sign_detached(b"articles", PKI.key("hk-personal"), PKI.certificate("hk-personal"), datetime.now(UTC))


async def test_a_token_is_added_and_its_gen_time_returned(tmp_path: Path) -> None:
    authority, serials = make_authority(PKI, tmp_path)
    server = TimeStampServer(authority)
    await server.start(port=0)
    try:
        stamped = await HttpTimeStamper(server.url, 2.0).stamp(SIGNATURE)
    finally:
        await server.stop()
        serials.close()
    [attribute] = cms.ContentInfo.load(stamped.cms_signature)["content"]["signer_infos"][0]["unsigned_attrs"]
    assert attribute["values"][0].dump() == stamped.token
    assert abs((datetime.now(UTC) - stamped.gen_time).total_seconds()) < 60


async def test_a_refusal_is_tsa_unavailable_with_the_fail_info(tmp_path: Path) -> None:
    authority, serials = make_authority(PKI, tmp_path)
    server = TimeStampServer(authority, max_request_bytes=16)  # every request is too large: 413
    await server.start(port=0)
    try:
        with pytest.raises(errors.Unavailable) as raised:
            await HttpTimeStamper(server.url, 2.0).stamp(SIGNATURE)
    finally:
        await server.stop()
        serials.close()
    assert raised.value.reason == "TSA_UNAVAILABLE" and "bad_request" in raised.value.message


async def test_nothing_listening_is_tsa_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(errors.Unavailable) as raised:
        await HttpTimeStamper(f"http://127.0.0.1:{port}/", 1.0).stamp(SIGNATURE)
    assert raised.value.reason == "TSA_UNAVAILABLE"
