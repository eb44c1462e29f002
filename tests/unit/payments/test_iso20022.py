"""ISO 20022 export: pacs.008 and pacs.002 validated against the official XSDs, statuses with reasons."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from baylink.errors import FailedPrecondition, PermissionDenied
from services.payments.adapters.iso20022 import PACS_002, PACS_008, SchemaInvalid, validate
from services.payments.bootstrap import Payments
from services.payments.service_layer import complete, export, prepare
from tests.unit.payments.conftest import hkd, quote, request_for

NS8 = {"p": "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"}
NS2 = {"p": "urn:iso:std:iso:20022:tech:xsd:pacs.002.001.11"}


async def committed(app: Payments, transfer_id: str = "t1") -> None:
    q = await quote(app, f"q-{transfer_id}", hkd("1000.00"))
    await prepare.prepare_transfer(app.deps, request_for(q, transfer_id))
    await complete.commit_transfer(app.deps, transfer_id)


async def test_a_committed_transfer_exports_as_a_pacs008_that_validates_against_the_official_xsd(
    app: Payments,
) -> None:
    await committed(app)
    rendered = await export.export_iso20022(app.deps, "t1", "pacs.008")
    assert rendered.message_definition == "pacs.008.001.08" and rendered.schema_validated
    validate(rendered.document, PACS_008)  # independently, once more
    doc = ET.fromstring(rendered.document)
    tx = doc.find("p:FIToFICstmrCdtTrf/p:CdtTrfTxInf", NS8)
    assert tx is not None
    assert tx.findtext("p:IntrBkSttlmAmt", namespaces=NS8) == "910.82"
    assert tx.find("p:IntrBkSttlmAmt", NS8).get("Ccy") == "CNY"  # type: ignore[union-attr]
    assert tx.findtext("p:InstdAmt", namespaces=NS8) == "995.00"
    assert tx.findtext("p:XchgRate", namespaces=NS8) == "0.91540000"
    assert tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS8) == "FEE-t1"
    assert tx.findtext("p:DbtrAgt/p:FinInstnId/p:BICFI", namespaces=NS8) == "HKTBHKHH"
    uetr = tx.findtext("p:PmtId/p:UETR", namespaces=NS8)
    assert uetr and len(uetr) == 36
    again = await export.export_iso20022(app.deps, "t1", "pacs.008")
    assert again.document == rendered.document  # deterministic: same transfer, same message


async def test_each_transfer_has_its_own_uetr(app: Payments) -> None:
    await committed(app, "t1")
    await committed(app, "t2")
    uetrs = set()
    for tid in ("t1", "t2"):
        doc = ET.fromstring((await export.export_iso20022(app.deps, tid, "pacs.008")).document)
        uetrs.add(doc.findtext("p:FIToFICstmrCdtTrf/p:CdtTrfTxInf/p:PmtId/p:UETR", namespaces=NS8))
    assert len(uetrs) == 2


async def test_the_xsd_rejects_a_document_that_breaks_it(app: Payments) -> None:
    await committed(app)
    rendered = await export.export_iso20022(app.deps, "t1", "pacs.008")
    broken = rendered.document.replace(b"<ChrgBr>DEBT</ChrgBr>", b"<ChrgBr>NOPE</ChrgBr>")
    with pytest.raises(SchemaInvalid):
        validate(broken, PACS_008)


async def test_pacs002_reports_acsc_for_committed_and_rjct_with_a_reason_for_refused(app: Payments) -> None:
    await committed(app)
    ok = ET.fromstring((await export.export_iso20022(app.deps, "t1", "pacs.002")).document)
    assert ok.findtext("p:FIToFIPmtStsRpt/p:TxInfAndSts/p:TxSts", namespaces=NS2) == "ACSC"
    q = await quote(app, "q2", hkd("100.00"))
    with pytest.raises(PermissionDenied):
        await prepare.prepare_transfer(app.deps, request_for(q, "t2", payer_name="Borys Testarow"))
    rendered = await export.export_iso20022(app.deps, "t2", "pacs.002")
    assert rendered.message_definition == "pacs.002.001.11" and rendered.schema_validated
    rejected = ET.fromstring(rendered.document)
    tx = rejected.find("p:FIToFIPmtStsRpt/p:TxInfAndSts", NS2)
    assert tx is not None
    assert tx.findtext("p:TxSts", namespaces=NS2) == "RJCT"
    assert tx.findtext("p:StsRsnInf/p:Rsn/p:Cd", namespaces=NS2) == "RR04"
    assert "SANCTIONS_HIT" in (tx.findtext("p:StsRsnInf/p:AddtlInf", namespaces=NS2) or "")
    assert b"Borys" not in rendered.document  # the screened name stays out of the status


async def test_only_a_committed_transfer_is_a_pacs008(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    with pytest.raises(FailedPrecondition) as caught:
        await export.export_iso20022(app.deps, "t1", "pacs.008")
    assert caught.value.reason == "TRANSFER_RESERVED"


async def test_a_reserved_transfer_is_pending_and_every_status_report_validates(app: Payments) -> None:
    q = await quote(app, "q1", hkd("100.00"))
    await prepare.prepare_transfer(app.deps, request_for(q, "t1"))
    pending = await export.export_iso20022(app.deps, "t1", "pacs.002")
    validate(pending.document, PACS_002)  # independently of the renderer's own check
    tx = ET.fromstring(pending.document).find("p:FIToFIPmtStsRpt/p:TxInfAndSts", NS2)
    assert tx is not None and tx.findtext("p:TxSts", namespaces=NS2) == "PDNG"
    assert tx.find("p:StsRsnInf", NS2) is None
    await complete.abort_transfer(app.deps, "t1", "the payer changed their mind")
    aborted = ET.fromstring((await export.export_iso20022(app.deps, "t1", "pacs.002")).document)
    assert aborted.findtext("p:FIToFIPmtStsRpt/p:TxInfAndSts/p:StsRsnInf/p:Rsn/p:Cd", namespaces=NS2) == "CUST"


async def test_the_pacs002_xsd_rejects_a_status_report_that_breaks_it(app: Payments) -> None:
    await committed(app)
    rendered = await export.export_iso20022(app.deps, "t1", "pacs.002")
    uetr = ET.fromstring(rendered.document).findtext("p:FIToFIPmtStsRpt/p:TxInfAndSts/p:OrgnlUETR", namespaces=NS2)
    assert uetr
    with pytest.raises(SchemaInvalid, match=r"pacs\.002\.001\.11 fails its XSD"):
        validate(rendered.document.replace(uetr.encode(), b"not-a-uuid"), PACS_002)
