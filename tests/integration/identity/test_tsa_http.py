"""Baylink's TSA over HTTP (RFC 3161 3.4): tokens for good queries, TimeStampResp rejections for bad ones."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from baylink import tsp
from devtools.testpki.loader import COMMITTED, TestPKI
from services.identity.tsa.server import QUERY, REPLY, TimeStampServer
from tests.support.tsa import make_authority


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TimeStampServer]:
    authority, serials = make_authority(TestPKI(COMMITTED), tmp_path)
    tsa = TimeStampServer(authority, max_request_bytes=1024)
    await tsa.start(port=0)
    yield tsa
    await tsa.stop()
    serials.close()


async def _post(url: str, body: bytes, content_type: str = QUERY) -> tuple[int, str, bytes]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.post(url, data=body, headers={"Content-Type": content_type}) as response,
    ):
        return response.status, response.content_type, await response.read()


def _fail_info(answer: bytes) -> set[str]:
    status = tsp.TimeStampResponse.load(answer)["status"]
    assert status["status"].native == "rejection"
    return set(status["fail_info"].native)


async def test_a_query_gets_a_token_over_its_digest_with_the_nonce_echoed(server: TimeStampServer) -> None:
    digest = hashlib.sha256(b"a signature value").digest()
    nonce, body = tsp.request(digest)
    status, media_type, answer = await _post(server.url, body)
    assert (status, media_type) == (200, REPLY)
    token = tsp.token_of(answer, nonce, digest)
    assert token["content"]["encap_content_info"]["content"].parsed["nonce"].native == nonce
    with pytest.raises(tsp.TimeStampError, match="nonce"):
        tsp.token_of(answer, nonce + 1, digest)
    assert server.granted == 1


async def test_garbage_is_answered_with_bad_data_format_not_an_error(server: TimeStampServer) -> None:
    status, media_type, answer = await _post(server.url, b"\x30\x80garbage")
    assert (status, media_type) == (200, REPLY)
    assert _fail_info(answer) == {"bad_data_format"}
    with pytest.raises(tsp.TimeStampError, match="bad_data_format"):
        tsp.token_of(answer, 1, b"")


async def test_a_wrong_media_type_and_an_oversized_body_are_refused_with_a_reply(server: TimeStampServer) -> None:
    _nonce, body = tsp.request(hashlib.sha256(b"x").digest())
    status, media_type, answer = await _post(server.url, body, "application/octet-stream")
    assert (status, media_type, _fail_info(answer)) == (415, REPLY, {"bad_request"})
    status, media_type, answer = await _post(server.url, b"\x30" * 2000)
    assert (status, media_type, _fail_info(answer)) == (413, REPLY, {"bad_request"})
    assert (server.granted, server.refused) == (0, 2)
