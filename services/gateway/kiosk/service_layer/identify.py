"""Identify a person at a kiosk: identity validates their e-Cert, the person proves they hold its key
(``possession``: a signature over this session's fresh challenge, verified by identity), and only
then does the binding service bind them.

The certificate facts binding checks the declared name and date of birth against (CN and the RFC
3739 dateOfBirth) are read from the very certificate bytes the identity service validated, never
from what the kiosk sent alongside. The person comes back as a handle valid in this session only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from baylink import errors
from services.gateway.binding.domain.model import DeclaredPerson, Documents
from services.gateway.kiosk.service_layer.access import KioskCall
from services.gateway.kiosk.service_layer.deps import KioskDeps
from services.gateway.kiosk.service_layer.possession import Challenge, PossessionProof, prove
from services.gateway.kiosk.service_layer.sessions import IdentifiedPerson


@dataclass(frozen=True)
class IdentifyPerson:
    documents: Documents
    declared: DeclaredPerson
    certificate_chain_pem: str
    proof: PossessionProof

    def __repr__(self) -> str:
        return "IdentifyPerson(<redacted>)"


async def challenge(deps: KioskDeps, call: KioskCall) -> Challenge:
    """A fresh challenge for the next identify of this session (single use, short-lived)."""
    issued = await deps.challenges.issue(call.live.token)
    call.note(challenge_id=issued.challenge_id)
    return issued


async def identify(deps: KioskDeps, call: KioskCall, command: IdentifyPerson) -> IdentifiedPerson:
    session = call.live
    call.note(challenge_id=command.proof.challenge_id)
    validated = await deps.identity.validate(command.certificate_chain_pem)
    call.note(indication=validated.facts.indication, jurisdiction=validated.facts.jurisdiction or None)
    await prove(deps.challenges, deps.identity, session.token, command.proof, command.certificate_chain_pem, validated)
    result = await deps.bindings.bind(command.documents, command.declared, validated.facts)
    call.about(result.subject_id)
    call.note(created=result.created)
    for known in session.persons.values():
        if known.subject_id == result.subject_id:  # identified again (e.g. with another certificate)
            known.certificate_sha256 = validated.facts.fingerprint.lower()
            known.key_kind = validated.key_kind
            return known
    if len(session.persons) >= deps.max_persons_per_session:
        raise errors.FailedPrecondition(
            f"at most {deps.max_persons_per_session} people per kiosk session", reason="SESSION_FULL"
        )
    person = IdentifiedPerson(
        handle=f"p-{secrets.token_urlsafe(12)}",
        subject_id=result.subject_id,
        jurisdiction=result.jurisdiction,
        certificate_sha256=validated.facts.fingerprint.lower(),
        key_kind=validated.key_kind,
        name_zh=_clean(command.declared.name_zh),
        name_en=_clean(command.declared.name_en),
    )
    session.persons[person.handle] = person
    return person


def _clean(name: str | None) -> str | None:
    return name.strip() if name and name.strip() else None
