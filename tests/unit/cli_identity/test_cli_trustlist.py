"""``baylink trustlist sign|verify|show``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.identity.domain.trustlist_codec import decode_document, list_to_dict
from services.identity.entrypoints.cli_trustlist import app
from tests.unit.cli_identity.conftest import CERTS, KEYS, LISTS, SAMPLE_LISTS

runner = CliRunner()
HK_SIGNER, HK_KEY = CERTS / "tl-signer-hk.pem", KEYS / "tl-signer-hk.key.pem"


def unsigned_list(tmp_path: Path, sequence: int = 2, wrap: bool = False) -> Path:
    trust_list = list_to_dict(decode_document((LISTS / "HK.json").read_bytes()).trust_list)
    trust_list["sequence_number"] = sequence
    path = tmp_path / "HK-unsigned.json"
    path.write_text(json.dumps({"trust_list": trust_list} if wrap else trust_list, ensure_ascii=False), "utf-8")
    return path


def sign(tmp_path: Path, key: Path = HK_KEY, wrap: bool = False) -> tuple[int, str, Path]:
    out = tmp_path / "HK.json"
    args = ["sign", "--list", str(unsigned_list(tmp_path, wrap=wrap)), "--key", str(key)]
    result = runner.invoke(app, [*args, "--cert", str(HK_SIGNER), "--out", str(out)])
    return result.exit_code, result.output, out


@pytest.mark.parametrize("wrap", [False, True])
def test_signed_list_verifies_with_its_signer(tmp_path: Path, wrap: bool) -> None:
    code, output, out = sign(tmp_path, wrap=wrap)
    assert code == 0, output
    assert "HK trust list #2" in output
    result = runner.invoke(app, ["verify", str(out), "--signer", str(HK_SIGNER)])
    assert result.exit_code == 0, result.output
    assert "signature verifies" in result.output
    assert decode_document(out.read_bytes()).trust_list.sequence_number == 2


def test_flipping_one_byte_breaks_verification(tmp_path: Path) -> None:
    _, _, out = sign(tmp_path)
    data = bytearray(out.read_bytes())
    position = data.index(b'"sequence_number": 2') + len(b'"sequence_number": ')
    data[position] = ord("3")
    out.write_bytes(bytes(data))
    result = runner.invoke(app, ["verify", str(out), "--signer", str(HK_SIGNER)])
    assert result.exit_code == 1
    assert "signature_invalid" in result.output


def test_flipping_a_byte_of_the_signature_value_breaks_verification(tmp_path: Path) -> None:
    _, _, out = sign(tmp_path)
    document = json.loads(out.read_text("utf-8"))
    value = document["signature"]["value"]
    document["signature"]["value"] = ("B" if value[0] == "A" else "A") + value[1:]
    out.write_text(json.dumps(document), "utf-8")
    result = runner.invoke(app, ["verify", str(out), "--signer", str(HK_SIGNER)])
    assert result.exit_code == 1
    assert "refused" in result.output


def test_signer_not_trusted_is_refused_with_the_reason(tmp_path: Path) -> None:
    _, _, out = sign(tmp_path)
    result = runner.invoke(app, ["verify", str(out), "--signer", str(CERTS / "tl-signer-mo.pem")])
    assert result.exit_code == 1
    assert "signer_not_trusted" in result.output


def test_verify_trusts_the_signer_certificate_beside_the_list() -> None:
    result = runner.invoke(app, ["verify", str(SAMPLE_LISTS / "GD.json")])
    assert result.exit_code == 0, result.output


def test_key_not_matching_the_certificate_is_an_input_error(tmp_path: Path) -> None:
    code, output, out = sign(tmp_path, key=KEYS / "tl-signer-mo.key.pem")
    assert code == 2
    assert "does not belong" in output
    assert not out.exists()


def test_malformed_unsigned_list_exits_2_naming_the_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"jurisdiction": "XX", "services": []}), "utf-8")
    args = ["sign", "--list", str(bad), "--key", str(HK_KEY), "--cert", str(HK_SIGNER), "--out", str(tmp_path / "o")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert str(bad) in result.output and "trust_list.jurisdiction" in result.output


def test_certificate_given_as_key_exits_2_naming_it(tmp_path: Path) -> None:
    code, output, _ = sign(tmp_path, key=HK_SIGNER)
    assert code == 2
    assert str(HK_SIGNER) in output


def test_show_prints_the_list_and_every_service() -> None:
    result = runner.invoke(app, ["show", str(SAMPLE_LISTS / "MO.json")])
    assert result.exit_code == 0, result.output
    for text in ("MO", "2026-01-01T00:00:00Z", "2036-01-01T00:00:00Z", "2.16.344.8.2.2008.810.2.3"):
        assert text in result.output
    for name in ("澳門郵電局電子簽署核證（G03）", "澳门邮电局电子签名认证（G03）", "eSignTrust Root CA (G03)"):
        assert name in result.output
    assert "withdrawn since 2020-01-05T00:00:00Z" in result.output
    document = decode_document((SAMPLE_LISTS / "MO.json").read_bytes())
    for service in document.trust_list.services:
        assert service.fingerprint_sha256 in result.output


def test_show_of_a_non_list_exits_2_naming_the_file() -> None:
    path = CERTS / "hk-root.pem"
    result = runner.invoke(app, ["show", str(path)])
    assert result.exit_code == 2
    assert str(path) in result.output


def test_verify_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["verify", str(tmp_path / "none.json")])
    assert result.exit_code == 2
    assert "none.json" in result.output
