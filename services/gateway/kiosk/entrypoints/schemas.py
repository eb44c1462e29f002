"""The kiosk API's request bodies (pydantic validates them at the edge, 422 with field errors)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Base64Bytes, BaseModel, ConfigDict, Field, model_validator

from services.gateway.kiosk.service_layer.model import Money

KioskId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$", examples=["HK-TST-01"])]
Handle = Annotated[str, Field(min_length=1, max_length=64, description="A person handle from identify")]
Text = Annotated[str, Field(min_length=1, max_length=500)]
EXPONENTS = {"HKD": 2, "MOP": 2, "CNY": 2, "USD": 2, "EUR": 2}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MoneyIn(Strict):
    currency: Literal["HKD", "MOP", "CNY", "USD", "EUR"]
    amount: Decimal = Field(gt=0, max_digits=18, examples=["1000000.00"], description="Major units, e.g. 12.50")

    @model_validator(mode="after")
    def _minor_units_exact(self) -> MoneyIn:
        if self.amount != self.amount.quantize(Decimal(1).scaleb(-EXPONENTS[self.currency])):
            raise ValueError(f"{self.currency} has {EXPONENTS[self.currency]} decimal places")
        return self

    def to_money(self) -> Money:
        return Money(self.currency, int(self.amount.scaleb(EXPONENTS[self.currency])))


class SessionIn(Strict):
    kiosk_id: KioskId | None = Field(
        default=None,
        description="Ignored (kept for older kiosk software): the kiosk is the one its device certificate names",
    )
    language: Literal["zh-Hant", "zh-Hans", "en", "pt"] | None = None


class DocumentsIn(Strict):
    hkid: str | None = Field(default=None, max_length=20, examples=["A123456(3)"])
    macau_id: str | None = Field(default=None, max_length=20)
    travel_permit: str = Field(min_length=1, max_length=20, examples=["H12345678"])
    residence_permit: str | None = Field(default=None, max_length=20)


class IdentifyIn(Strict):
    documents: DocumentsIn
    name_zh: str | None = Field(default=None, max_length=100, examples=["陳大文"])
    name_en: str | None = Field(default=None, max_length=200, examples=["CHAN Tai Man"])
    date_of_birth: date
    certificate_chain_pem: str = Field(
        min_length=1, max_length=64_000, description="The e-Cert, then its issuing CAs, PEM"
    )


class EnterpriseInvestorIn(Strict):
    name: Text
    jurisdiction: Literal["HK", "MO", "GD"]
    registration_number: Annotated[str, Field(min_length=1, max_length=64)]


class InvestorIn(Strict):
    person: Handle | None = None
    enterprise: EnterpriseInvestorIn | None = None
    subscribed_capital: MoneyIn | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> InvestorIn:
        if (self.person is None) == (self.enterprise is None):
            raise ValueError("give either person (an identified person's handle) or enterprise")
        return self


class NameIn(Strict):
    trade_name: Annotated[str, Field(min_length=1, max_length=30, examples=["湾联"])]
    industry: Annotated[str, Field(min_length=1, max_length=30, examples=["贸易"])]
    organisational_form: Annotated[str, Field(min_length=1, max_length=30, examples=["有限公司"])]
    english_name: str = Field(default="", max_length=200)


class ApplicationIn(Strict):
    request_id: str = Field(
        default_factory=lambda: str(uuid.uuid4()),
        max_length=64,
        description="Idempotency key: a retry with the same key returns the same draft",
    )
    catalogue_item_id: Annotated[str, Field(min_length=1, max_length=64, examples=["440605-HKMO-CO-EST"])]
    applicant: Handle
    legal_representative: Handle | None = Field(default=None, description="Default: the applicant")
    registered_capital: MoneyIn
    address: Text
    business_scope: Text
    investors: list[InvestorIn] = Field(min_length=1, max_length=50)
    name: NameIn | None = None


class MaterialIn(Strict):
    material_type: Annotated[str, Field(min_length=1, max_length=64, examples=["articles_of_association"])]
    filename: Annotated[str, Field(min_length=1, max_length=255)]
    media_type: str = Field(default="application/pdf", max_length=100)
    content_base64: Base64Bytes = Field(description="The document, base64")


class SignatureIn(Strict):
    cms_base64: Base64Bytes = Field(
        default=b"", description="Detached CMS SignedData (RFC 5652), DER, base64; leave out with pades"
    )
    pades: bool = Field(
        default=False,
        description="The material is a signed PDF (PAdES): verify the signatures it carries instead of cms_base64",
    )


class PayIn(Strict):
    quote_id: Annotated[str, Field(min_length=1, max_length=64)]
