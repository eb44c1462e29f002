"""The application aggregate ⇄ its row (indexed columns plus a JSON body)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.registry.domain.application import Application, Decision, Fee, Licence, State
from services.registry.domain.catalogue import Signatory
from services.registry.domain.enterprise import EnterpriseDetails, Investor, InvestorKind, Money
from services.registry.domain.materials import Material, Signature
from services.registry.domain.names import NameDeclaration
from services.registry.domain.text import LocalText


def _t(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _money(m: Money | None) -> list[Any] | None:
    return [m.currency, m.minor_units] if m is not None else None


def _unmoney(v: list[Any] | None) -> Money | None:
    return Money(v[0], int(v[1])) if v else None


def _text(t: LocalText | None) -> list[str] | None:
    return [t.zh_hans, t.zh_hant, t.en] if t is not None else None


def _untext(v: list[str] | None) -> LocalText | None:
    return LocalText(zh_hans=v[0], zh_hant=v[1], en=v[2]) if v else None  # stored as [zh_hans, zh_hant, en]


def columns(app: Application, now: datetime) -> dict[str, Any]:
    return {
        "application_id": app.application_id,
        "catalogue_item_id": app.catalogue_item_id,
        "authority_code": app.authority_code,
        "applicant_ref": app.applicant_ref,
        "state": app.state.value,
        "payment_reference": app.fee.payment_reference or None,
        "deadline": app.deadline.astimezone(UTC) if app.deadline else None,
        "overdue": app.overdue,
        "flow_id": app.flow_id or app.application_id,
        "created_at": app.created_at.astimezone(UTC),
        "updated_at": now,
        "body": body(app),
    }


def body(app: Application) -> dict[str, Any]:
    d = app.enterprise
    return {
        "created_at": _t(app.created_at),
        "deadline": _t(app.deadline),
        "submitted_at": _t(app.submitted_at),
        "enterprise": {
            "registered_capital": _money(d.registered_capital),
            "address": d.address,
            "business_scope": d.business_scope,
            "investors": [
                [i.kind.value, i.name, i.jurisdiction, i.reference, _money(i.subscribed_capital), i.certificate_sha256]
                for i in d.investors
            ],
            "legal_representative": [
                d.legal_representative_name,
                d.legal_representative_ref,
                d.legal_representative_certificate_sha256,
            ],
            "subject_uscc": d.subject_uscc,
        },
        "name": list(vars(app.name).values()) if app.name else None,
        "name_approved": app.name_approved,
        "materials": [_material(m) for m in app.materials.values()],
        "fee": vars(app.fee),
        "reviewer_id": app.reviewer_id,
        "resubmissions": app.resubmissions,
        "uscc": app.uscc,
        "licence": {**vars(app.licence), "issued_at": _t(app.licence.issued_at)} if app.licence else None,
        "decision": _decision(app.last_decision),
    }


def _material(m: Material) -> dict[str, Any]:
    return {
        "id": m.material_id,
        "type": m.material_type,
        "filename": m.filename,
        "media_type": m.media_type,
        "size": m.size_bytes,
        "sha256": m.sha256.hex(),
        "attached_at": _t(m.attached_at),
        "signatures": [
            [s.signer_ref, [r.value for r in s.roles], s.certificate_sha256, _t(s.signed_at), _t(s.verified_at)]
            for s in m.signatures
        ],
    }


def _decision(d: Decision | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "outcome": d.outcome,
        "reviewer_id": d.reviewer_id,
        "decided_at": _t(d.decided_at),
        "reason": _text(d.reason),
        "types": list(d.material_types_to_correct),
    }


def application(row: Any) -> Application:
    b = row.body
    e = b["enterprise"]
    name, ref, cert = e["legal_representative"]
    details = EnterpriseDetails(
        _unmoney(e["registered_capital"]),
        e["address"],
        e["business_scope"],
        tuple(Investor(InvestorKind(k), n, j, r, _unmoney(m), c) for k, n, j, r, m, c in e["investors"]),
        name,
        ref,
        cert,
        e["subject_uscc"],
    )
    app = Application(
        application_id=row.application_id,
        catalogue_item_id=row.catalogue_item_id,
        authority_code=row.authority_code,
        applicant_ref=row.applicant_ref,
        created_at=_dt(b["created_at"]) or datetime.now(UTC),
        enterprise=details,
        state=State(row.state),
        name=NameDeclaration(*b["name"]) if b["name"] else None,
        name_approved=b["name_approved"],
        materials={m["type"]: _unmaterial(m) for m in b["materials"]},
        fee=Fee(**b["fee"]),
        submitted_at=_dt(b["submitted_at"]),
        deadline=_dt(b["deadline"]),
        overdue=row.overdue,
        reviewer_id=b["reviewer_id"],
        resubmissions=b["resubmissions"],
        uscc=b["uscc"],
        licence=_unlicence(b["licence"]),
        last_decision=_undecision(b["decision"]),
        version=row.version,
        flow_id=row.flow_id or row.application_id,
    )
    return app


def _unmaterial(m: dict[str, Any]) -> Material:
    signatures = [
        Signature(ref, tuple(Signatory(r) for r in roles), cert, _dt(signed) or _now(), _dt(verified) or _now())
        for ref, roles, cert, signed, verified in m["signatures"]
    ]
    attached = _dt(m["attached_at"]) or _now()
    return Material(
        m["id"], m["type"], m["filename"], m["media_type"], m["size"], bytes.fromhex(m["sha256"]), attached, signatures
    )


def _unlicence(v: dict[str, Any] | None) -> Licence | None:
    return Licence(**{**v, "issued_at": _dt(v["issued_at"])}) if v else None


def _undecision(v: dict[str, Any] | None) -> Decision | None:
    if not v:
        return None
    decided = _dt(v["decided_at"]) or _now()
    return Decision(v["outcome"], v["reviewer_id"], decided, _untext(v["reason"]), tuple(v["types"]))


def _now() -> datetime:
    return datetime.now(UTC)
