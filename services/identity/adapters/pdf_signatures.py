"""Reading the signatures of a PDF with pyHanko: fields, byte ranges, revisions, later changes.

pyHanko finds the signature fields, decides which revision each byte range covers and reviews the
incremental updates after it against the signature's DocMDP/FieldMDP permissions (its default diff
policy), and reads the Document Security Store (/DSS: certificates, OCSP responses, CRLs; PAdES
B-LT). Nothing here judges a signature or a certificate: the CMS bytes and the covered bytes go
to the same use case as any detached CMS, with the DSS as validation data the PDF carries.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime

from asn1crypto import cms, crl, ocsp, x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, DiffResult
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation.dss import DocumentSecurityStore, NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from services.identity.adapters.revocation_cache import answers_for
from services.identity.domain.errors import InvalidInput
from services.identity.domain.pdf import (
    MAX_PDF_BYTES,
    MAX_PDF_SIGNATURES,
    ByteCoverage,
    Change,
    Coverage,
    FoundTimestamp,
    ModificationFacts,
    SignatureKind,
    TimestampKind,
)
from services.identity.domain.report import ValidationData
from services.identity.service_layer.ports import FoundPdfSignature, PdfFacts

log = logging.getLogger("baylink.identity")
# pyHanko logs every refused incremental update as a warning with a traceback. A changed PDF is an
# ordinary answer here (pdf_modified_after_signing, the detail in the report), and a caller could
# otherwise fill the logs with tracebacks by sending changed PDFs.
logging.getLogger("pyhanko.sign.diff_analysis.policies").setLevel(logging.ERROR)
_SUB_FILTERS = {"/adbe.pkcs7.detached", "/ETSI.CAdES.detached", "/ETSI.RFC3161"}
_COVERAGE = {"ENTIRE_FILE": Coverage.ENTIRE_FILE, "ENTIRE_REVISION": Coverage.ENTIRE_REVISION}


def looks_like_pdf(data: bytes) -> bool:
    """A PDF header in the first kilobyte, as PDF readers accept it (ISO 32000-2, 7.5.2)."""
    return b"%PDF-" in data[:1024]


class PyHankoPdfReader:
    """`PdfSignatureReader` on pyHanko."""

    def read(self, data: bytes, field: str) -> PdfFacts:
        if len(data) > MAX_PDF_BYTES:
            raise InvalidInput(field, "too_large", f"PDFs above {MAX_PDF_BYTES} bytes are not accepted")
        if not looks_like_pdf(data):
            raise InvalidInput(field, "not_a_pdf", "no %PDF- header: this is not a PDF")
        try:
            return _read(data, field)
        except InvalidInput:
            raise
        # pyHanko and asn1crypto raise many kinds of errors on broken input (zlib.error, IndexError,
        # RecursionError, ...): all of them say the caller's PDF is unreadable, never that we failed.
        except Exception as exc:  # noqa: BLE001
            raise InvalidInput(field, "malformed", f"the PDF cannot be read ({type(exc).__name__}: {exc})") from None


def _read(data: bytes, field: str) -> PdfFacts:
    reader = PdfFileReader(io.BytesIO(data), strict=True)
    if reader.encrypted:
        raise InvalidInput(field, "encrypted", "encrypted PDFs are not accepted; send it unencrypted")
    if reader.xrefs.hybrid_xrefs_present:
        raise InvalidInput(field, "hybrid_xrefs", "hybrid-reference PDFs can hide changes; save it again")
    fields = list(enumerate_sig_fields(reader, filled_status=True))
    if not fields:
        raise InvalidInput(field, "no_signatures", "the PDF has no signed signature field")
    if len(fields) > MAX_PDF_SIGNATURES:
        raise InvalidInput(field, "too_many_signatures", f"at most {MAX_PDF_SIGNATURES} signatures per PDF")
    dss, dss_revision = _dss(reader)
    found = [_read_one(reader, data, name, value, sig_field, field, dss) for name, value, sig_field in fields]
    found.sort(key=lambda s: s.coverage.revision)
    return PdfFacts(tuple(found), reader.xrefs.total_revisions, len(data), dss, dss_revision)


def _dss(reader: PdfFileReader) -> tuple[ValidationData | None, int | None]:
    """The DSS of the last revision (what it holds, DER), and the first revision that has one."""
    try:
        store = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return None, None
    kinds = (
        (DecodePurpose.CERTIFICATE, list(store.certs.values()), x509.Certificate),
        (DecodePurpose.OCSP_RESPONSE, store.ocsps, ocsp.OCSPResponse),
        (DecodePurpose.CRL, store.crls, crl.CertificateList),
    )
    certificates, ocsps, crls = (_parsed(refs, purpose, spec) for purpose, refs, spec in kinds)
    first = next((n + 1 for n in range(reader.xrefs.total_revisions) if "/DSS" in reader.get_historical_root(n)), None)
    return ValidationData(certificates, ocsps, crls), first


def _parsed(refs: list[generic.IndirectObject], purpose: DecodePurpose, spec: type) -> tuple[bytes, ...]:
    """The DER of each DSS stream that parses through as `spec`; one that does not is left out
    (it could only fail the validations that would use it)."""
    found: list[bytes] = []
    for ref in refs:
        data = bytes(ref.get_object().read_data(purpose))
        try:
            spec.load(data, strict=True).native  # noqa: B018 - parse it all now
        except (ValueError, TypeError, KeyError) as exc:
            log.info("DSS item left out: not a DER %s", spec.__name__, extra={"error": str(exc)})
            continue
        found.append(data)
    return tuple(found)


def _dss_covers(embedded: EmbeddedPdfSignature, dss: ValidationData | None) -> bool:
    """Whether the DSS holds an OCSP response for the signer's certificate or a CRL of its issuer."""
    if dss is None:
        return False
    try:
        signer = embedded.signer_cert
    except (ValueError, KeyError, TypeError):
        return False
    if any(answers_for(ocsp.OCSPResponse.load(item), signer) for item in dss.ocsp_responses):
        return True
    issuer = signer.issuer.dump()
    return any(crl.CertificateList.load(item)["tbs_cert_list"]["issuer"].dump() == issuer for item in dss.crls)


def _read_one(
    reader: PdfFileReader,
    data: bytes,
    name: str,
    value: generic.PdfObject,
    sig_field: generic.PdfObject,
    field: str,
    dss: ValidationData | None,
) -> FoundPdfSignature:
    where = f"{field}: signature field {name!r}"
    try:
        sub_filter = str(value.get_object().get("/SubFilter", ""))
        if sub_filter not in _SUB_FILTERS:
            raise InvalidInput(field, "unsupported_sub_filter", f"{where}: SubFilter {sub_filter or 'missing'}")
        embedded = EmbeddedPdfSignature(reader, sig_field, name)
        # pyHanko's compute_integrity_info also digests the byte range, by a digest name it can
        # only look up for the SHA families; the digest is the CMS check's business (SM3 too).
        embedded.coverage = embedded.evaluate_signature_coverage()
        embedded.diff_result = embedded.evaluate_modifications(DEFAULT_DIFF_POLICY)
        facts = (_coverage(embedded, reader, len(data)), _modifications(embedded))
        claimed = embedded.self_reported_timestamp if sub_filter != "/ETSI.RFC3161" else None
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - as in `read`: broken input, whatever pyHanko raises
        raise InvalidInput(field, "malformed_signature", f"{where} cannot be read ({exc})") from None
    coverage, modifications = facts
    signed = _covered(data, coverage.byte_range)
    token = _der_prefix(embedded.pkcs7_content)
    if sub_filter == "/ETSI.RFC3161":
        stamp = _timestamp(TimestampKind.DOCUMENT, token, signed, name)
        return FoundPdfSignature(
            name,
            SignatureKind.DOCUMENT_TIMESTAMP,
            token,
            signed,
            coverage,
            modifications,
            (stamp,),
            None,
            sub_filter,
            "",
        )
    return FoundPdfSignature(
        name,
        SignatureKind.SIGNATURE,
        token,
        signed,
        coverage,
        modifications,
        _signature_timestamps(embedded),
        claimed,
        sub_filter,
        _signer_subject(embedded),
        _dss_covers(embedded, dss),
    )


def _coverage(embedded: EmbeddedPdfSignature, reader: PdfFileReader, size: int) -> ByteCoverage:
    byte_range = tuple(int(x) for x in embedded.byte_range)
    covered = sum(byte_range[1::2]) if len(byte_range) % 2 == 0 else 0
    level = _COVERAGE.get(embedded.coverage.name if embedded.coverage else "", Coverage.PARTIAL)
    revisions = reader.xrefs.total_revisions
    return ByteCoverage(embedded.signed_revision + 1, revisions, covered, size, level, byte_range)


def _modifications(embedded: EmbeddedPdfSignature) -> ModificationFacts:
    docmdp = embedded.docmdp_level
    locks = embedded.fieldmdp is not None
    result = embedded.diff_result
    if isinstance(result, DiffResult):
        change = Change(result.modification_level.value)
        detail = ", ".join(sorted(result.changed_form_fields))
        return ModificationFacts(change, docmdp.value if docmdp else None, locks, detail)
    return ModificationFacts(Change.OTHER, docmdp.value if docmdp else None, locks, str(result or ""))


def _covered(data: bytes, byte_range: tuple[int, ...]) -> bytes:
    pairs = zip(byte_range[0::2], byte_range[1::2], strict=False)
    return b"".join(data[start : start + length] for start, length in pairs if start >= 0 and length >= 0)


def _der_prefix(contents: bytes) -> bytes:
    """The DER element at the start of /Contents, without the zero padding that fills the rest."""
    if len(contents) < 2:
        return contents
    first = contents[1]
    if first < 0x80:
        return contents[: 2 + first]
    count = first & 0x7F
    length = int.from_bytes(contents[2 : 2 + count], "big")
    return contents[: 2 + count + length]


def _signature_timestamps(embedded: EmbeddedPdfSignature) -> tuple[FoundTimestamp, ...]:
    attrs = embedded.signer_info["unsigned_attrs"]
    if not attrs:
        return ()
    value = embedded.signer_info["signature"].native
    found = []
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            for token in attr["values"]:
                found.append(_timestamp(TimestampKind.SIGNATURE, token.dump(), value, ""))
    return tuple(found)


def _timestamp(kind: TimestampKind, token: bytes, imprinted: bytes, name: str) -> FoundTimestamp:
    gen_time: datetime | None = None
    authority = ""
    try:
        signed_data = cms.ContentInfo.load(token)["content"]
        gen_time = signed_data["encap_content_info"]["content"].parsed["gen_time"].native
        sid = signed_data["signer_infos"][0]["sid"]
        for choice in signed_data["certificates"] or ():
            cert = choice.chosen
            if sid.name == "issuer_and_serial_number" and _is(cert, sid.chosen):
                authority = cert.subject.human_friendly
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        log.info("timestamp token not readable for the listing", extra={"error": str(exc)})
    return FoundTimestamp(kind, token, imprinted, gen_time, authority, name)


def _is(cert: object, issuer_serial: cms.IssuerAndSerialNumber) -> bool:
    serial = issuer_serial["serial_number"].native
    if getattr(cert, "serial_number", None) != serial:  # cheap first: serials rarely collide
        return False
    return bool(cert.issuer.dump() == issuer_serial["issuer"].dump())  # type: ignore[attr-defined]


def _signer_subject(embedded: EmbeddedPdfSignature) -> str:
    """The signer's common name (else subject) off the certificate the SignerInfo names, if carried;
    matched here by issuer and serial, more cheaply than pyHanko's own look-up."""
    sid = embedded.signer_info["sid"]
    if sid.name != "issuer_and_serial_number":
        return ""
    for choice in embedded.signed_data["certificates"] or ():
        if choice.name == "certificate" and _is(choice.chosen, sid.chosen):
            subject = choice.chosen.subject
            return str(subject.native.get("common_name") or subject.human_friendly)
    return ""
