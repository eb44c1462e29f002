"""The test PKI generator and the committed output in devtools/data/testpki."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from devtools.testpki import plan
from devtools.testpki.__main__ import main
from devtools.testpki.loader import TestPKI
from services.identity.adapters.trustlist_signature import ListSignatureVerifier
from services.identity.domain.trustlist import Jurisdiction, ServiceType
from services.identity.service_layer.trust_store import TrustListStore


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> TestPKI:
    out = tmp_path_factory.mktemp("pki")
    main(["build", str(out), "--base-url", "http://127.0.0.1:18999/"])
    return TestPKI(out)


def test_build_writes_every_planned_certificate_key_and_list(fresh: TestPKI) -> None:
    assert set(fresh.names) == {e.name for e in plan.ENTITIES}
    for entity in plan.ENTITIES:
        assert fresh.key(entity.name).public_key_info().dump() == fresh.certificate(entity.name).public_key.dump()
    assert {p.name for p in (fresh.directory / "trustlists").iterdir()} == {"HK.json", "MO.json", "GD.json"}
    assert "TEST MATERIAL ONLY" in (fresh.directory / "README.md").read_text()


def test_revocation_urls_point_at_the_base_url_given_at_build_time(fresh: TestPKI) -> None:
    leaf = fresh.certificate("hk-personal")
    assert leaf.ocsp_urls == ["http://127.0.0.1:18999/ocsp/hk-ca"]
    point = leaf.crl_distribution_points[0]["distribution_point"].chosen[0].native
    assert point == "http://127.0.0.1:18999/crl/hk-ca.crl"
    assert fresh.base_url == "http://127.0.0.1:18999"


def test_seeded_keys_come_out_the_same_as_the_committed_ones(fresh: TestPKI, pki: TestPKI) -> None:
    for entity in plan.ENTITIES:
        same = fresh.key(entity.name).public_key_info().dump() == pki.key(entity.name).public_key_info().dump()
        assert same is (entity.key_kind.value != "rsa-2048"), entity.name


def test_fresh_trust_lists_load_with_the_fresh_signers(fresh: TestPKI) -> None:
    store = TrustListStore(fresh.list_signers(), ListSignatureVerifier())
    assert all(store.load(fresh.trust_list_document(j)).accepted for j in Jurisdiction)


def test_edge_case_certificates_have_the_defects_they_are_named_after(pki: TestPKI) -> None:
    assert pki.certificate("hk-wrong-key-usage").key_usage_value.native == {"key_encipherment"}
    assert plan.UNKNOWN_CRITICAL_EXTENSION in pki.certificate("hk-critical-extension").critical_extensions
    policies = [p["policy_identifier"].native for p in pki.certificate("hk-no-policy").certificate_policies_value]
    assert policies == [plan.POLICY_UNRECOGNISED]
    leaf = pki.certificate("gd-personal")
    assert leaf["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
    assert pki.certificate("hk-ca")["signature_algorithm"].signature_algo == "rsassa_pss"
    assert pki.certificate("mo-personal").public_key.algorithm == "ed25519"


def test_committed_manifest_records_revocations_and_policies(pki: TestPKI) -> None:
    manifest = json.loads((Path(pki.directory) / "manifest.json").read_text())
    revoked = sorted(n for n, e in manifest["entities"].items() if e["revoked_at"])
    assert revoked == ["gd-revoked", "hk-revoked"]
    assert manifest["policies"]["hk_personal"].startswith(plan.ARC)
    assert "TEST MATERIAL ONLY" in (Path(pki.directory) / "README.md").read_text()


def test_personal_certificates_state_the_holders_date_of_birth() -> None:
    from datetime import date

    from devtools.testpki.loader import COMMITTED, TestPKI

    pki = TestPKI(COMMITTED)
    for name, born in (
        ("hk-personal", date(1980, 3, 15)),
        ("mo-personal", date(1975, 11, 2)),
        ("gd-personal", date(1988, 7, 30)),
    ):
        extensions = {e["extn_id"].native: e for e in pki.certificate(name)["tbs_certificate"]["extensions"]}
        [attribute] = extensions["subject_directory_attributes"]["extn_value"].parsed.native
        assert attribute["type"] == "pda_date_of_birth"
        assert attribute["values"][0].date() == born


def test_every_jurisdiction_has_a_listed_tsa_with_critical_time_stamping_usage(pki: TestPKI) -> None:
    store = TrustListStore(pki.list_signers(), ListSignatureVerifier())
    for jurisdiction in Jurisdiction:
        assert store.load(pki.trust_list_document(jurisdiction)).accepted
        for name in plan.LISTED_TSAS[jurisdiction.value]:
            cert = pki.certificate(name)
            assert cert.extended_key_usage_value.native == ["time_stamping"]
            assert "extended_key_usage" in cert.critical_extensions
            service = store.current(jurisdiction).service_for(pki.cert(name))  # type: ignore[union-attr]
            assert service is not None and service.service_type is ServiceType.TSA
    assert pki.certificate("gd-tsa").public_key.algorithm == "ec"  # SM2, like the rest of the GD chain
    assert pki.certificate("gd-tsa")["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
    listed = {s.fingerprint_sha256 for t in store.lists() for s in t.services}
    assert hashlib.sha256(pki.cert("hk-tsa-unlisted")).hexdigest() not in listed
    # A TSA vouches for time only: its service anchors no signer's chain.
    assert all(a.service.service_type.is_ca for a in store.anchored_services())


def test_extend_adds_new_entities_and_keeps_every_existing_file_byte_for_byte(tmp_path: Path, pki: TestPKI) -> None:
    out = tmp_path / "pki"
    shutil.copytree(pki.directory, out)
    manifest = json.loads((out / "manifest.json").read_text())
    for name in ("hk-tsa", "gd-tsa"):  # as if the directory were built before they were planned
        del manifest["entities"][name]
        (out / "certs" / f"{name}.pem").unlink()
        (out / "keys" / f"{name}.key.pem").unlink()
    (out / "manifest.json").write_text(json.dumps(manifest))
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*.pem")}
    main(["extend", str(out)])
    extended = TestPKI(out)
    assert set(extended.names) == set(pki.names)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*.pem") if p.relative_to(out) in before} == before
    # Seeded keys: the re-added TSAs have the committed keys.
    for name in ("hk-tsa", "gd-tsa"):
        assert extended.key(name).public_key_info().dump() == pki.key(name).public_key_info().dump()
    store = TrustListStore(extended.list_signers(), ListSignatureVerifier())
    assert all(store.load(extended.trust_list_document(j)).accepted for j in Jurisdiction)
