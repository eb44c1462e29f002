"""Signed PDFs (PAdES) made with the test PKI's keys and pyHanko, for tests and benchmarks.

TEST MATERIAL ONLY. A minimal one-page PDF; signing it once or again (each signature an
incremental update); a certification signature with DocMDP permissions; a change to the page
after signing; a document timestamp from a TSA whose certificate is issued in memory by a test
CA (nothing is written to devtools/data/testpki).

Keys sign through `KeySigner` (our `SigningKey` gives the raw signature). SM2 signs in pyHanko's
remote-signing way: see `_sign_sm2`.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from asn1crypto import algos, keys, pem, tsp, x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument, PdfTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from baylink import cms
from devtools.testpki import timestamps as test_timestamps
from devtools.testpki.loader import TestPKI
from devtools.testpki.x509build import CertificateProfile, issue, issuer_for, name
from services.identity.adapters.keys import KeyKind, Scheme, SigningKey, algorithm_identifier

T = TypeVar("T")
MDPPerm = fields.MDPPerm
_DIGEST_FOR = {KeyKind.EC_P384: "sha384", KeyKind.ED25519: "sha512", KeyKind.SM2: "sm3"}


def _run(work: Coroutine[Any, Any, T]) -> T:
    """pyHanko's coroutine to its end, from plain code or from inside a running loop (async tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def minimal_pdf(text: str = "Application for business registration") -> bytes:
    """A one-page PDF whose page shows `text` (ASCII) in Helvetica."""
    writer = PdfFileWriter()
    font = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Font"),
            generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
            generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
        }
    )
    resources = generic.DictionaryObject(
        {generic.NameObject("/Font"): generic.DictionaryObject({generic.NameObject("/F1"): writer.add_object(font)})}
    )
    contents = generic.StreamObject(stream_data=_page_text(text))
    page = PageObject(
        contents=writer.add_object(contents), media_box=generic.ArrayObject(map(generic.NumberObject, (0, 0, 595, 842)))
    )
    page[generic.NameObject("/Resources")] = resources
    writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _page_text(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return f"BT /F1 14 Tf 72 760 Td ({escaped}) Tj ET".encode("ascii")


class KeySigner(signers.Signer):
    """A pyHanko signer whose raw signature comes from the test PKI's `SigningKey` (any kind)."""

    def __init__(self, key: SigningKey, certificate: x509.Certificate, chain: list[x509.Certificate]) -> None:
        self._key = key
        scheme = key.default_scheme()
        mechanism = algos.SignedDigestAlgorithm.load(algorithm_identifier(scheme).dump())
        super().__init__(
            signing_cert=certificate,
            cert_registry=SimpleCertificateStore.from_certs([certificate, *chain]),
            signature_mechanism=mechanism,
            prefer_pss=scheme is Scheme.PS256,
        )

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        return self._key.sign(data)


def signer_for(pki: TestPKI, entity: str) -> KeySigner:
    chain = [x509.Certificate.load(der) for der in pki.intermediates(entity)]
    return KeySigner(pki.key(entity), pki.certificate(entity), chain)


class _DisregardingDocMdp(signers.PdfSigner):
    """A `PdfSigner` that signs even where the certification signature forbids it, to make the
    DocMDP violations a validator must catch."""

    def _enforce_certification_constraints(self, reader: object) -> None:
        return None


def sign(
    pdf: bytes,
    pki: TestPKI,
    entity: str,
    field_name: str,
    certify: MDPPerm | None = None,
    timestamper: timestamps.TimeStamper | None = None,
    disregard_docmdp: bool = False,
    validation_info: bool = False,
) -> bytes:
    """`pdf` with one more signature by `entity` in a new field, as an incremental update; a
    certification signature with DocMDP `certify` when given; a signature timestamp (B-T) from
    `timestamper` when given. With `disregard_docmdp` it signs even if an earlier certification
    signature forbids any change (a violating document, for tests). With `validation_info`
    pyHanko fetches the revocation data of the signer's chain (from the PKI's responder, which
    must be running) and adds it to the PDF's DSS in an update after the signature (PAdES B-LT)."""
    key = pki.key(entity)
    if key.kind is KeyKind.SM2:
        if certify is not None or timestamper is not None:
            raise ValueError("SM2 PDFs are signed by the CMS builder: no certification or timestamp here")
        return _sign_sm2(pdf, pki, entity, field_name)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm=_DIGEST_FOR.get(key.kind, "sha256"),
        certify=certify is not None,
        docmdp_permissions=certify or MDPPerm.FILL_FORMS,
        embed_validation_info=validation_info,
        validation_context=_validation_context(pki, entity) if validation_info else None,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    kind = _DisregardingDocMdp if disregard_docmdp else signers.PdfSigner
    out = _run(kind(meta, signer_for(pki, entity), timestamper=timestamper).async_sign_pdf(writer))
    return bytes(out.getvalue())


def _validation_context(pki: TestPKI, entity: str) -> ValidationContext:
    chain = [x509.Certificate.load(der) for der in pki.intermediates(entity)]
    root = entity
    while pki.entity(root)["issuer"] is not None:
        root = pki.entity(root)["issuer"]
    return ValidationContext(
        trust_roots=[pki.certificate(root)], other_certs=chain, allow_fetching=True, revocation_mode="hard-fail"
    )


def _sign_sm2(pdf: bytes, pki: TestPKI, entity: str, field_name: str) -> bytes:
    """pyHanko lays out the PDF and digests the byte range with SM3 (pyca knows SM3); the CMS is
    built by `baylink.cms`, the one CMS builder Baylink has, because pyHanko's own CMS assembly
    needs asn1crypto to know SM3 by name, and it does not."""
    meta = signers.PdfSignatureMetadata(
        field_name=field_name, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sm3"
    )
    signer = signers.PdfSigner(meta, signer_for(pki, entity))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    prepared, _, output = _run(signer.async_digest_doc_for_signing(writer, bytes_reserved=8192))
    key, certificate = pki.key(entity), pki.certificate(entity)
    chain = [x509.Certificate.load(der) for der in pki.intermediates(entity)]
    signature = cms.sign_detached(
        prepared.document_digest, key.sign, certificate, "sm3", cms.SM2_WITH_SM3_OID, None, chain
    )
    _run(PdfTBSDocument.async_finish_signing(output, prepared, signature))
    return bytes(output.getvalue())


def change_page(pdf: bytes, text: str = "Registered capital: HKD 1,000,000,000") -> bytes:
    """`pdf` with its first page's content replaced, as an incremental update (no signature)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    page[generic.NameObject("/Contents")] = writer.add_object(generic.StreamObject(stream_data=_page_text(text)))
    writer.mark_update(page_ref)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def annotate(pdf: bytes, note: str = "Checked at the counter") -> bytes:
    """`pdf` with a text annotation (a sticky note) added to its first page, as an incremental
    update: a change a DocMDP permission of 3 allows and one of 1 or 2 does not."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    annotation = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Text"),
            generic.NameObject("/Rect"): generic.ArrayObject(map(generic.NumberObject, (72, 600, 92, 620))),
            generic.NameObject("/Contents"): generic.TextStringObject(note),
            generic.NameObject("/P"): page_ref,
        }
    )
    writer.register_annotation(page_ref, writer.add_object(annotation))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_tsa(pki: TestPKI, ca: str = "hk-ca") -> timestamps.DummyTimeStamper:
    """An in-process RFC 3161 TSA whose certificate `ca` issues now, in memory, with a fresh RSA key
    (pyHanko's in-process TSA signs with RSA only)."""
    key = SigningKey.generate(KeyKind.RSA_2048)
    now = datetime.now(UTC)
    profile = CertificateProfile(
        serial=int(now.timestamp() * 1000),
        subject=name("Baylink test TSA", "Baylink test PKI", "HK"),
        not_before=now - timedelta(hours=1),
        not_after=now + timedelta(days=30),
        key_usage=frozenset({"digital_signature"}),
        extended_key_usage=("time_stamping",),
    )
    certificate = issue(profile, key.public_key_info(), issuer_for(pki.certificate(ca), pki.key(ca)))
    private = keys.PrivateKeyInfo.load(pem.unarmor(key.private_pem())[2])
    return timestamps.DummyTimeStamper(tsa_cert=certificate, tsa_key=private, certs_to_embed=[certificate])


class PkiTsa(timestamps.TimeStamper):
    """pyHanko's TSA client answered in process by one of the test PKI's own TSAs (`*-tsa` of
    plan.py, which its trust lists name), through `devtools.testpki.timestamps`: the committed
    PKI's unless `pki` is given; tokens dated `at` (default: now)."""

    def __init__(self, tsa: str = "hk-tsa", pki: TestPKI | None = None, at: datetime | None = None) -> None:
        super().__init__()
        self._tsa, self._pki, self._at = tsa, pki, at

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        answer = test_timestamps.timestamp_response(req.dump(), self._tsa, self._at, self._pki)
        return tsp.TimeStampResp.load(answer)


def add_dss(pdf: bytes, ocsp_responses: Sequence[bytes] = (), certificates: Sequence[bytes] = ()) -> bytes:
    """`pdf` with a DSS holding these OCSP responses and certificates, each stream the DER exactly
    as given (junk too), as an incremental update, with no responder involved."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))

    def streams(items: Sequence[bytes]) -> generic.ArrayObject:
        return generic.ArrayObject(writer.add_object(generic.StreamObject(stream_data=item)) for item in items)

    dss = generic.DictionaryObject(
        {generic.NameObject("/OCSPs"): streams(ocsp_responses), generic.NameObject("/Certs"): streams(certificates)}
    )
    writer.root[generic.NameObject("/DSS")] = writer.add_object(dss)
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def timestamp(pdf: bytes, tsa: timestamps.TimeStamper) -> bytes:
    """`pdf` with a document timestamp (/DocTimeStamp) over all of it, as an incremental update."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = _run(PdfTimeStamper(tsa).async_timestamp_pdf(writer, "sha256"))
    return bytes(out.getvalue())
