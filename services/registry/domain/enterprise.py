"""What an applicant declares about the market entity: capital, investors, legal representative."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from baylink.ids import check_uscc
from services.registry.domain.catalogue import CatalogueItem, ItemKind, MaterialRequirement, Signatory
from services.registry.domain.messages import Problem

CAPITAL_CURRENCIES = ("CNY", "HKD", "MOP", "USD")
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Money:
    currency: str
    minor_units: int


class InvestorKind(StrEnum):
    NATURAL_PERSON = "natural_person"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class Investor:
    kind: InvestorKind
    name: str
    jurisdiction: str  # HK | MO | GD | ""
    reference: str  # the gateway's pseudonym of the person, or the enterprise's registration number
    subscribed_capital: Money | None
    # SHA-256 of the e-Cert the gateway bound to this investor's mainland subject (lower-case hex).
    certificate_sha256: str = ""


@dataclass(frozen=True)
class EnterpriseDetails:
    registered_capital: Money | None = None
    address: str = ""
    business_scope: str = ""
    investors: tuple[Investor, ...] = ()
    legal_representative_name: str = ""
    legal_representative_ref: str = ""
    legal_representative_certificate_sha256: str = ""
    subject_uscc: str = ""  # change and deregistration: the entity's existing code


@dataclass(frozen=True)
class Signer:
    """Someone whose signature a material needs, and the certificate the gateway bound to them."""

    reference: str
    name: str
    roles: tuple[Signatory, ...]
    certificate_sha256: str


def check_details(details: EnterpriseDetails, item: CatalogueItem) -> list[Problem]:
    """Every problem with the declared details for ``item`` (empty when they are acceptable)."""
    problems: list[Problem] = []
    establishing = item.kind is ItemKind.ESTABLISHMENT
    capital = details.registered_capital
    if capital is None:
        if establishing:
            problems.append(Problem("enterprise.registered_capital", "required"))
    else:
        problems += _check_money("enterprise.registered_capital", capital)
    if establishing and not details.address.strip():
        problems.append(Problem("enterprise.address", "required"))
    if not establishing:
        problems += _check_subject_uscc(details.subject_uscc)
    if not details.legal_representative_name.strip():
        problems.append(Problem("enterprise.legal_representative_name", "required"))
    if not details.legal_representative_ref.strip():
        problems.append(Problem("enterprise.legal_representative_ref", "required"))
    if not _fingerprint_ok(details.legal_representative_certificate_sha256):
        problems.append(Problem("enterprise.legal_representative_certificate_sha256", "certificate_fingerprint"))
    if establishing and not details.investors:
        problems.append(Problem("enterprise.investors", "required"))
    problems += _check_investors(details)
    return problems


def _check_subject_uscc(value: str) -> list[Problem]:
    if not value:
        return [Problem("enterprise.subject_uscc", "required")]
    result = check_uscc(value)
    return [] if result.valid else [Problem("enterprise.subject_uscc", "uscc_invalid", {"why": result.message})]


def _check_money(path: str, money: Money, currency: str | None = None) -> list[Problem]:
    if money.currency not in CAPITAL_CURRENCIES:
        return [Problem(f"{path}.currency", "currency_unknown", {"allowed": ", ".join(CAPITAL_CURRENCIES)})]
    if currency is not None and money.currency != currency:
        return [Problem(f"{path}.currency", "currency_mismatch", {"currency": currency})]
    if money.minor_units <= 0:
        return [Problem(f"{path}.minor_units", "capital_not_positive")]
    return []


def _check_investors(details: EnterpriseDetails) -> list[Problem]:
    problems: list[Problem] = []
    capital = details.registered_capital
    currency = capital.currency if capital is not None else None
    subscribed = 0
    for i, investor in enumerate(details.investors):
        path = f"enterprise.investors[{i}]"
        if not investor.name.strip():
            problems.append(Problem(f"{path}.name", "required"))
        if not investor.reference.strip():
            problems.append(Problem(f"{path}.reference", "required"))
        if not _fingerprint_ok(investor.certificate_sha256):
            problems.append(Problem(f"{path}.certificate_sha256", "certificate_fingerprint"))
        if investor.subscribed_capital is None:
            problems.append(Problem(f"{path}.subscribed_capital", "required"))
            continue
        money_problems = _check_money(f"{path}.subscribed_capital", investor.subscribed_capital, currency)
        problems += money_problems
        subscribed += investor.subscribed_capital.minor_units
    if not problems and capital is not None and details.investors and subscribed != capital.minor_units:
        problems.append(Problem("enterprise.investors", "subscribed_sum"))
    return problems


def _fingerprint_ok(value: str) -> bool:
    return not value or bool(_FINGERPRINT.match(value))


def required_signers(details: EnterpriseDetails, requirement: MaterialRequirement) -> list[Signer]:
    """Who must sign this material; one person in two roles signs once."""
    signers: dict[str, Signer] = {}

    def add(reference: str, name: str, role: Signatory, certificate: str) -> None:
        known = signers.get(reference)
        roles = (*known.roles, role) if known else (role,)
        signers[reference] = Signer(reference, name, roles, (known.certificate_sha256 if known else "") or certificate)

    for role in requirement.signatories:
        if role is Signatory.INVESTORS:
            for investor in details.investors:
                add(investor.reference, investor.name, role, investor.certificate_sha256)
        elif details.legal_representative_ref:
            add(
                details.legal_representative_ref,
                details.legal_representative_name,
                role,
                details.legal_representative_certificate_sha256,
            )
    return list(signers.values())
