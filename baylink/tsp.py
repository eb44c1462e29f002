"""RFC 3161 time-stamp protocol messages, shared by the TSA that answers and the clients that ask.

asn1crypto's ``TimeStampResp`` insists on a token, which RFC 3161 omits when a request is not
granted; ``TimeStampResponse`` reads both. ``request`` and ``token_of`` are a client's two
halves: build a request over a digest with a fresh nonce, then accept only a granted answer
that echoes the nonce and stamps the digest asked for.
"""

from __future__ import annotations

import secrets
from typing import ClassVar

from asn1crypto import cms, core, tsp


class TimeStampError(ValueError):
    """An answer that is not a token for our request: refused, malformed, or for something else."""


class TimeStampResponse(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[object, ...]]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def request(message_digest: bytes, hash_name: str = "sha256", cert_req: bool = True) -> tuple[int, bytes]:
    """(nonce, DER TimeStampReq) asking for a token over ``message_digest``."""
    nonce = secrets.randbits(63) | 1 << 62  # positive, eight bytes
    body = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {"hash_algorithm": {"algorithm": hash_name}, "hashed_message": message_digest},
            "nonce": nonce,
            "cert_req": cert_req,
        }
    )
    return nonce, bytes(body.dump())


def token_of(answer: bytes, nonce: int, message_digest: bytes) -> cms.ContentInfo:
    """The token of a granted answer to our request; TimeStampError saying why otherwise."""
    try:
        response = TimeStampResponse.load(answer, strict=True)
        status = response["status"]
        if status["status"].native not in ("granted", "granted_with_mods"):
            why = "; ".join(status["status_string"].native or []) or "no reason given"
            fail = ", ".join(sorted(status["fail_info"].native or ())) or "none"
            raise TimeStampError(f"the TSA refused: {status['status'].native} ({fail}): {why}")
        token = response["time_stamp_token"]
        info = token["content"]["encap_content_info"]["content"].parsed
    except (ValueError, TypeError, KeyError) as error:
        if isinstance(error, TimeStampError):
            raise
        raise TimeStampError(f"the TSA's answer is not a TimeStampResp: {error}") from None
    if info["nonce"].native != nonce:
        raise TimeStampError("the TSA's token does not echo our nonce")
    if info["message_imprint"]["hashed_message"].native != message_digest:
        raise TimeStampError("the TSA's token stamps another digest")
    return token
