"""Internal-CA credentials made in a temporary directory, for tests that run real mutual TLS."""

from __future__ import annotations

from pathlib import Path

from baylink.runtime.grpc.tls import InternalTransport
from baylink.runtime.pki.internal_ca import init_internal_ca
from baylink.runtime.settings import InternalTransportSettings


def tls_settings(pki_dir: Path) -> InternalTransportSettings:
    """Mutual TLS with the CA in ``pki_dir``, whatever BAYLINK_INSECURE_INTERNAL says in the environment."""
    return InternalTransportSettings.model_validate({"BAYLINK_INSECURE_INTERNAL": False, "pki_dir": pki_dir})


def transport_of(pki_dir: Path, identity: str) -> InternalTransport:
    """The credentials ``identity`` holds under the CA in ``pki_dir`` (made there if missing)."""
    init_internal_ca(pki_dir)
    return InternalTransport.from_settings(tls_settings(pki_dir), identity)
