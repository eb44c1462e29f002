"""Reading the files and values given to `baylink identity` and `baylink trustlist`.

Every failure is an `InputError` whose message names the file (or option) and says what is wrong
in one line; the commands print it and exit 2.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from pathlib import Path

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)
_CMS_LABELS = ("CMS", "PKCS7")
_OID = re.compile(r"\d+(\.\d+)+")


class InputError(Exception):
    """A file or value the user gave cannot be used; the message is the one line to print."""


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory, expected a file") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or type(exc).__name__})") from exc


def pem_blocks(data: bytes, source: Path) -> list[tuple[str, bytes]]:
    """(label, DER) of every PEM block in `data`; text between blocks is ignored (RFC 7468)."""
    blocks = []
    for match in _PEM_BLOCK.finditer(data):
        label = match.group(1).decode("ascii")
        try:
            blocks.append((label, base64.b64decode(b"".join(match.group(2).split()), validate=True)))
        except (binascii.Error, ValueError) as exc:
            raise InputError(f"{source}: the PEM {label} block is not valid base64") from exc
    return blocks


def certificates(path: Path) -> list[bytes]:
    """The certificates of a DER file or a PEM file/bundle, DER-encoded and parsed to check them."""
    from services.identity.adapters import der
    from services.identity.domain.errors import InvalidInput

    data = read_file(path)
    if b"-----BEGIN" in data:
        ders = [body for label, body in pem_blocks(data, path) if label in ("CERTIFICATE", "X509 CERTIFICATE")]
        if not ders:
            raise InputError(f"{path}: no PEM CERTIFICATE block found")
    else:
        ders = [data]
    for index, item in enumerate(ders):
        where = str(path) if len(ders) == 1 else f"{path} (certificate {index + 1})"
        try:
            der.load_certificate(item, where)
        except InvalidInput as exc:
            raise InputError(f"{where}: {exc.message}") from exc
    return ders


def certificates_of(paths: list[Path]) -> list[bytes]:
    return [item for path in paths for item in certificates(path)]


def cms_signature(path: Path) -> bytes:
    """A CMS SignedData as DER, from DER or PEM ("CMS" or "PKCS7" block), parsed to check it."""
    from services.identity.adapters import der
    from services.identity.domain.errors import InvalidInput

    data = read_file(path)
    if b"-----BEGIN" in data:
        blocks = [body for label, body in pem_blocks(data, path) if label in _CMS_LABELS]
        if len(blocks) != 1:
            raise InputError(f"{path}: expected exactly one PEM CMS or PKCS7 block")
        data = blocks[0]
    try:
        der.load_signed_data(data, str(path))
    except InvalidInput as exc:
        raise InputError(f"{path}: {exc.message}") from exc
    return data


def moment(text: str | None) -> datetime | None:
    """An ISO-8601 time with an explicit offset (a bare local time is ambiguous across HK/UTC)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--at {text!r}: not an ISO-8601 time, e.g. 2026-05-01T09:00:00+08:00") from exc
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"--at {text!r}: give a timezone, e.g. 2026-05-01T09:00:00Z or +08:00")
    return value


def policy_oids(values: list[str]) -> frozenset[str] | None:
    for value in values:
        if not _OID.fullmatch(value):
            raise InputError(f"--policy {value!r}: not a dotted OID such as 2.16.344.8.2.2008.810.2.1")
    return frozenset(values) if values else None
