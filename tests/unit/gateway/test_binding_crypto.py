"""Sealing personal data (AES-256-GCM with key ids), pseudonyms and blind indexes (HMAC-SHA256), key files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from services.gateway.binding.adapters.store import load_binding_keys
from services.gateway.shared.adapters.crypto import CiphertextRejected, FieldCipher
from services.gateway.shared.adapters.crypto_hmac import LookupHasher, Pseudonymiser
from services.gateway.shared.adapters.crypto_keys import (
    BindingKeyFiles,
    KeyFileError,
    create_development_keys,
    new_key_file,
    read_key_file,
    write_key_file,
)
from tests.unit.gateway.test_binding_kit import GUANGZHOU, PERMIT, RESIDENCE_PERMIT, SHENZHEN, new_key

CONTEXT = b"gateway.bindings/hkid_enc/row-1"


def test_a_sealed_value_opens_to_the_same_text_and_does_not_contain_it() -> None:
    cipher = FieldCipher({"k1": new_key()}, "k1")

    sealed = cipher.seal_text(PERMIT, CONTEXT)

    assert PERMIT.encode() not in sealed
    assert cipher.open_text(sealed, CONTEXT) == PERMIT
    assert cipher.key_id_of(sealed) == "k1"


def test_sealing_twice_gives_different_ciphertexts() -> None:
    cipher = FieldCipher({"k1": new_key()}, "k1")

    assert cipher.seal_text(PERMIT, CONTEXT) != cipher.seal_text(PERMIT, CONTEXT)


@pytest.mark.parametrize("position", [0, 1, 3, 10, 20, -1])
def test_a_tampered_ciphertext_is_rejected_with_a_clear_error(position: int) -> None:
    cipher = FieldCipher({"k1": new_key()}, "k1")
    sealed = bytearray(cipher.seal_text(PERMIT, CONTEXT))
    sealed[position] ^= 0x01

    with pytest.raises(CiphertextRejected) as caught:
        cipher.open(bytes(sealed), CONTEXT)

    assert "gateway.bindings/hkid_enc/row-1" in str(caught.value)
    assert PERMIT not in str(caught.value)


def test_a_truncated_ciphertext_is_rejected() -> None:
    cipher = FieldCipher({"k1": new_key()}, "k1")
    sealed = cipher.seal_text(PERMIT, CONTEXT)

    for cut in (0, 1, 5, len(sealed) - 1):
        with pytest.raises(CiphertextRejected):
            cipher.open(sealed[:cut], CONTEXT)


def test_a_ciphertext_moved_to_another_row_or_column_is_rejected() -> None:
    cipher = FieldCipher({"k1": new_key()}, "k1")
    sealed = cipher.seal_text(PERMIT, CONTEXT)

    with pytest.raises(CiphertextRejected, match="authentication"):
        cipher.open(sealed, b"gateway.bindings/hkid_enc/row-2")
    with pytest.raises(CiphertextRejected):
        cipher.open(sealed, b"gateway.bindings/travel_permit_enc/row-1")


def test_a_value_sealed_under_a_key_not_held_is_rejected_naming_the_key_id() -> None:
    sealed = FieldCipher({"old": new_key()}, "old").seal_text(PERMIT, CONTEXT)

    with pytest.raises(CiphertextRejected, match="unknown key id 'old'"):
        FieldCipher({"new": new_key()}, "new").open(sealed, CONTEXT)


def test_after_rotation_new_values_use_the_new_key_and_old_values_still_open() -> None:
    old_key = new_key()
    before = FieldCipher({"k1": old_key}, "k1").seal_text(PERMIT, CONTEXT)

    rotated = FieldCipher({"k1": old_key, "k2": new_key()}, "k2")
    after = rotated.seal_text(RESIDENCE_PERMIT, CONTEXT)

    assert rotated.key_id_of(after) == "k2"
    assert rotated.open_text(before, CONTEXT) == PERMIT
    assert rotated.open_text(after, CONTEXT) == RESIDENCE_PERMIT


def test_a_relabelled_key_id_does_not_open() -> None:
    key = new_key()
    sealed = FieldCipher({"k1": key}, "k1").seal_text(PERMIT, CONTEXT)
    relabelled = sealed[:2] + b"k2" + sealed[4:]

    with pytest.raises(CiphertextRejected):
        FieldCipher({"k1": key, "k2": key}, "k1").open(relabelled, CONTEXT)


@pytest.mark.parametrize(
    ("keys", "current"),
    [({"k1": b"short"}, "k1"), ({"k1": bytes(32)}, "k2"), ({"bad id!": bytes(32)}, "bad id!")],
)
def test_a_cipher_refuses_bad_keys(keys: dict[str, bytes], current: str) -> None:
    with pytest.raises(ValueError):
        FieldCipher(keys, current)


def test_a_pseudonym_is_stable_and_different_per_city() -> None:
    pseudonyms = Pseudonymiser(new_key())

    shenzhen = pseudonyms.pseudonym(SHENZHEN, PERMIT)

    assert shenzhen == pseudonyms(SHENZHEN, PERMIT)
    assert shenzhen != pseudonyms(GUANGZHOU, PERMIT)
    assert shenzhen != pseudonyms(SHENZHEN, RESIDENCE_PERMIT)
    assert len(shenzhen) == 52 and shenzhen.isalnum() and shenzhen.islower()
    assert PERMIT.lower() not in shenzhen


def test_pseudonyms_depend_on_the_key() -> None:
    assert Pseudonymiser(new_key())(SHENZHEN, PERMIT) != Pseudonymiser(new_key())(SHENZHEN, PERMIT)


def test_the_city_and_subject_are_separated_so_shifting_digits_between_them_changes_the_pseudonym() -> None:
    pseudonyms = Pseudonymiser(new_key())

    with pytest.raises(ValueError):
        pseudonyms("4403001", "2345678")
    assert pseudonyms("440300", "12345678") != pseudonyms("440301", "2345678")


def test_hmac_keys_must_be_long_enough() -> None:
    with pytest.raises(ValueError):
        Pseudonymiser(b"0" * 16)
    with pytest.raises(ValueError):
        LookupHasher(b"0" * 31)


def test_lookup_digests_differ_per_purpose() -> None:
    lookup = LookupHasher(new_key())

    assert lookup.digest("hkid", "A") != lookup.digest("travel_permit", "A")
    assert lookup.digest("hkid", "A") == lookup.digest("hkid", "A")


def test_development_keys_are_created_once_and_readable_by_the_owner_only(tmp_path: Path) -> None:
    first = create_development_keys(tmp_path / "keys")
    contents = {p: p.read_bytes() for p in (first.number_key, first.pseudonym_key, first.lookup_key)}

    second = create_development_keys(tmp_path / "keys")

    assert second == first
    assert {p: p.read_bytes() for p in contents} == contents
    for path in contents:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys = load_binding_keys(first)
    assert keys.cipher.current_key_id == "numbers-1"


def test_key_files_load_with_previous_number_keys_for_rotation(tmp_path: Path) -> None:
    old = create_development_keys(tmp_path, number_key_id="numbers-1")
    new = new_key_file(tmp_path / "numbers-2.key")
    files = BindingKeyFiles(new, old.pseudonym_key, old.lookup_key, previous_number_keys=(old.number_key,))

    cipher = load_binding_keys(files).cipher

    assert cipher.current_key_id == "numbers-2"
    assert cipher.key_ids == {"numbers-1", "numbers-2"}


def test_a_key_set_sharing_one_key_between_roles_is_refused(tmp_path: Path) -> None:
    key = new_key()
    files = BindingKeyFiles(
        write_key_file(tmp_path / "n.key", new_key()),
        write_key_file(tmp_path / "p.key", key),
        write_key_file(tmp_path / "l.key", key),
    )

    with pytest.raises(ValueError, match="different"):
        load_binding_keys(files)


def test_key_files_are_never_overwritten_and_bad_ones_are_refused(tmp_path: Path) -> None:
    path = new_key_file(tmp_path / "a.key")
    with pytest.raises(FileExistsError):
        new_key_file(path)
    (tmp_path / "bad.key").write_text("not base64!")
    with pytest.raises(KeyFileError):
        read_key_file(tmp_path / "bad.key")
    with pytest.raises(KeyFileError):
        read_key_file(tmp_path / "missing.key")
    with pytest.raises(KeyFileError, match="expected 16"):
        read_key_file(path, length=16)
