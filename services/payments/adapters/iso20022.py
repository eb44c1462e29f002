"""ISO 20022 rendering: pacs.008.001.08 for a committed transfer, pacs.002.001.11 for its status.

Both are validated against the official XSDs shipped in ``data/iso20022``
(xmlschema) before they leave this module; where they came from is in
data/README.md.

Identifiers are deterministic per transfer: the same transfer always renders
the same MsgId, so a re-export is recognisably the same message.
"""

from __future__ import annotations

import functools
import hashlib
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import xmlschema

from services.payments.domain.money import ISO_4217_EXPONENTS, Money
from services.payments.domain.participants import Participant
from services.payments.domain.transfer import Transfer, TransferState
from services.payments.service_layer.ports import Rendered

XSD_DIR = Path(__file__).resolve().parents[1] / "data" / "iso20022"
PACS_008 = "pacs.008.001.08"
PACS_002 = "pacs.002.001.11"
OFFICIAL_XSDS = {name: XSD_DIR / f"{name}.xsd" for name in (PACS_008, PACS_002)}
CLEARING_SYSTEM = "BAYLINK"

# Our refusal and abort codes → ISO 20022 ExternalStatusReason1Code.
STATUS_REASONS = {
    "TRANSFER_EXPIRED": "AB03",  # aborted: settlement timeout
    "SANCTIONS_HIT": "RR04",  # regulatory reason
    "NET_DEBIT_CAP_EXCEEDED": "AM23",  # amount exceeds settlement limit
    "PAYER_DAILY_LIMIT_EXCEEDED": "AM14",  # amount exceeds agreed limit
    "PAYER_YEARLY_LIMIT_EXCEEDED": "AM14",
    "VELOCITY_LIMIT_EXCEEDED": "AM14",
    "QUOTE_EXPIRED": "AB01",  # aborted: clearing timeout
    "QUOTE_ALREADY_USED": "AM05",  # duplication
    "ABORTED_BY_REQUEST": "CUST",  # requested by customer
}


class SchemaInvalid(ValueError):
    """A rendered document failed its XSD: a bug in the renderer, never the caller's fault."""


@functools.cache
def schema(definition: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(OFFICIAL_XSDS[definition]))


def validate(document: bytes, definition: str) -> None:
    errors = list(schema(definition).iter_errors(document.decode()))
    if errors:
        raise SchemaInvalid(f"{definition} fails its XSD: {errors[0].reason} at {errors[0].path}")


def max35(value: str) -> str:
    """ISO 20022 Max35Text: long ids keep a readable head and a hash of the whole."""
    return value if len(value) <= 35 else f"{value[:26]}-{hashlib.sha256(value.encode()).hexdigest()[:8]}"


def message_id(kind: str, transfer: Transfer) -> str:
    return "BL" + hashlib.sha256(f"{kind}|{transfer.transfer_id}|{transfer.uetr}".encode()).hexdigest()[:30].upper()


def pacs008(t: Transfer, payer: Participant, payee: Participant, zone: ZoneInfo) -> Rendered:
    if t.state is not TransferState.COMMITTED or t.completed_at is None:
        raise ValueError("only a committed transfer is a pacs.008")
    ns = f"urn:iso:std:iso:20022:tech:xsd:{PACS_008}"
    doc = ET.Element("Document", xmlns=ns)
    root = _sub(doc, "FIToFICstmrCdtTrf")
    header = _sub(root, "GrpHdr")
    msg_id = message_id(PACS_008, t)
    _sub(header, "MsgId", msg_id)
    _sub(header, "CreDtTm", _iso(t.completed_at))
    _sub(header, "NbOfTxs", "1")
    settlement = _sub(header, "SttlmInf")
    _sub(settlement, "SttlmMtd", "CLRG")
    _sub(_sub(settlement, "ClrSys"), "Prtry", CLEARING_SYSTEM)
    tx = _sub(root, "CdtTrfTxInf")
    pid = _sub(tx, "PmtId")
    _sub(pid, "InstrId", max35(t.transfer_id))
    _sub(pid, "EndToEndId", max35(t.reference) if t.reference else "NOTPROVIDED")
    _sub(pid, "TxId", max35(t.transfer_id))
    _sub(pid, "UETR", t.uetr)
    _amount(tx, "IntrBkSttlmAmt", t.receive)
    _sub(tx, "IntrBkSttlmDt", t.completed_at.astimezone(zone).date().isoformat())
    _sub(tx, "AccptncDtTm", _iso(t.reserved_at or t.created_at))
    if t.send.currency != t.receive.currency:
        _amount(tx, "InstdAmt", t.principal)
        _sub(tx, "XchgRate", t.customer_rate)
    _sub(tx, "ChrgBr", "DEBT")
    if t.fee.minor:
        charges = _sub(tx, "ChrgsInf")
        _amount(charges, "Amt", t.fee)
        _agent(charges, "Agt", None)
    _agent(tx, "InstgAgt", payer)
    _agent(tx, "InstdAgt", payee)
    _sub(_sub(tx, "Dbtr"), "Nm", t.payer_name[:140])
    _agent(tx, "DbtrAgt", payer)
    _agent(tx, "CdtrAgt", payee)
    _sub(_sub(tx, "Cdtr"), "Nm", (t.payee_name or payee.name_en or payee.participant_id)[:140])
    if t.reference:
        _sub(_sub(tx, "RmtInf"), "Ustrd", t.reference[:140])
    document = _serialise(doc)
    validate(document, PACS_008)
    return Rendered(document, PACS_008, msg_id, schema_validated=True)


def pacs002(t: Transfer, now: datetime) -> Rendered:
    """The transfer's status: ACSC committed, PDNG reserved, RJCT aborted or expired (with a reason)."""
    status = {TransferState.COMMITTED: "ACSC", TransferState.RESERVED: "PDNG"}.get(t.state, "RJCT")
    ns = f"urn:iso:std:iso:20022:tech:xsd:{PACS_002}"
    doc = ET.Element("Document", xmlns=ns)
    root = _sub(doc, "FIToFIPmtStsRpt")
    header = _sub(root, "GrpHdr")
    msg_id = message_id(f"{PACS_002}|{t.state.value}", t)
    _sub(header, "MsgId", msg_id)
    _sub(header, "CreDtTm", _iso(t.completed_at or now))
    original = _sub(root, "OrgnlGrpInfAndSts")
    _sub(original, "OrgnlMsgId", message_id(PACS_008, t))
    _sub(original, "OrgnlMsgNmId", PACS_008)
    tx = _sub(root, "TxInfAndSts")
    _sub(tx, "OrgnlInstrId", max35(t.transfer_id))
    _sub(tx, "OrgnlEndToEndId", max35(t.reference) if t.reference else "NOTPROVIDED")
    _sub(tx, "OrgnlTxId", max35(t.transfer_id))
    _sub(tx, "OrgnlUETR", t.uetr)
    _sub(tx, "TxSts", status)
    if status == "RJCT":
        info = _sub(tx, "StsRsnInf")
        code = STATUS_REASONS.get(t.abort_code)
        _sub(_sub(info, "Rsn"), "Cd" if code else "Prtry", code or max35(t.abort_code or "UNKNOWN"))
        _sub(info, "AddtlInf", f"{t.abort_code}: {t.abort_reason}"[:105])
    _sub(tx, "AccptncDtTm", _iso(t.reserved_at or t.created_at))
    document = _serialise(doc)
    validate(document, PACS_002)
    return Rendered(document, PACS_002, msg_id, schema_validated=True)


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _amount(parent: ET.Element, tag: str, amount: Money) -> None:
    places = ISO_4217_EXPONENTS[amount.currency]
    _sub(parent, tag, f"{amount.amount:.{places}f}").set("Ccy", amount.currency)


def _agent(parent: ET.Element, tag: str, participant: Participant | None) -> None:
    institution = _sub(_sub(parent, tag), "FinInstnId")
    if participant is not None and participant.bic:
        _sub(institution, "BICFI", participant.bic)
        return
    member = _sub(institution, "ClrSysMmbId")
    _sub(_sub(member, "ClrSysId"), "Prtry", CLEARING_SYSTEM)
    _sub(member, "MmbId", participant.participant_id if participant else CLEARING_SYSTEM)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _serialise(doc: ET.Element) -> bytes:
    ET.indent(doc)
    return ET.tostring(doc, encoding="utf-8", xml_declaration=True)
