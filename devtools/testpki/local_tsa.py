"""A TSA certificate from the test PKI's HK CA, until the test PKI issues its own (TEST MATERIAL ONLY).

python -m devtools.testpki.local_tsa OUTDIR   writes OUTDIR/tsa.pem, tsa.key.pem and chain.pem

Temporary stand-in: the test PKI's plan gains one TSA certificate per jurisdiction (hk-tsa …);
once it has them, deploy/lib.sh points the TSA at hk-tsa and this module goes.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import pem

from devtools.testpki.build import serial_for
from devtools.testpki.loader import COMMITTED, TestPKI
from devtools.testpki.x509build import CertificateProfile, issue, issuer_for, name
from services.identity.adapters.keys import KeyKind, Scheme, SigningKey


def write_local_tsa(out_dir: Path, pki: TestPKI | None = None) -> None:
    pki = pki or TestPKI(COMMITTED)
    ca = issuer_for(pki.certificate("hk-ca"), pki.key("hk-ca"), Scheme.PS256)
    key = SigningKey.generate(KeyKind.EC_P256, seed=b"local-tsa")
    profile = CertificateProfile(
        serial=serial_for("local-tsa"),
        subject=name("Baylink Test HK Time-Stamping Authority", "Baylink Test Hongkong Post", "HK"),
        not_before=datetime(2025, 6, 1, tzinfo=UTC),
        not_after=datetime(2035, 6, 1, tzinfo=UTC),
        key_usage=frozenset({"digital_signature"}),
        extended_key_usage=("time_stamping",),
        crl_url=f"{pki.base_url}/crl/hk-ca.crl",
        ocsp_url=f"{pki.base_url}/ocsp/hk-ca",
    )
    certificate = issue(profile, key.public_key_info(), ca)
    tbs = certificate["tbs_certificate"]
    for extension in tbs["extensions"]:  # RFC 3161 2.3: the timeStamping usage is critical
        if extension["extn_id"].native == "extended_key_usage":
            extension["critical"] = True
    certificate["signature_value"] = ca.key.sign(tbs.dump(force=True), ca.scheme)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tsa.pem").write_bytes(pem.armor("CERTIFICATE", certificate.dump(force=True)))
    (out_dir / "tsa.key.pem").write_bytes(key.private_pem())
    chain = b"".join(pem.armor("CERTIFICATE", der) for der in (pki.cert("hk-ca"),))
    (out_dir / "chain.pem").write_bytes(chain)


if __name__ == "__main__":
    write_local_tsa(Path(sys.argv[1]))
