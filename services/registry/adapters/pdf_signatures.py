"""The signatures a signed PDF carries, as detached CMS over the bytes each covers (its /ByteRange).

What the registry needs to time-stamp a PDF's signatures and keep their evidence: identity has
already judged the PDF (VerifyPdfSignatures); here each signature is only taken apart, so that it
can be stamped and verified again as a detached CMS over exactly the bytes it signs.
"""

from __future__ import annotations

import io

from asn1crypto import cms
from pyhanko.pdf_utils import misc
from pyhanko.pdf_utils.reader import PdfFileReader

from services.registry.service_layer.ports import PdfSignature


def pdf_signatures(document: bytes) -> list[PdfSignature]:
    """Every signature (not document time-stamp) of the PDF; ValueError when it cannot be read."""
    try:
        reader = PdfFileReader(io.BytesIO(document), strict=True)
        found = []
        for embedded in reader.embedded_regular_signatures:
            content = cms.ContentInfo.load(bytes(embedded.pkcs7_content), strict=False)
            byte_range = [int(x) for x in embedded.byte_range]
            pairs = zip(byte_range[0::2], byte_range[1::2], strict=True)
            covered = b"".join(document[start : start + length] for start, length in pairs)
            found.append(PdfSignature(bytes(content.dump()), covered))
    except (misc.PdfError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"the PDF's signatures cannot be read: {error}") from None
    return found
