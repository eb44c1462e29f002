"""Benchmark of signed-PDF verification (PAdES) in process (not a test): `make bench`, or

    .venv/bin/python -m benchmarks.pades_bench [--seconds 2] [--rounds 3] [--documents 8]

PDFs verified per second by `PdfVerifier` as the identity service wires it (pyHanko reads the
PDF, reviews the incremental updates, each signature's CMS is judged by `SignatureVerifier`):

(a) one signature (HK RSA-2048 signer; and a GD SM2 signer);
(b) two signatures (HK RSA, then MO Ed25519 in an incremental update) and a document timestamp
    by the test PKI's HK TSA, judged (token, TSA chain to the trust list's TSA service).

`--documents` different PDFs of each shape are verified in turn, so the figures are not one
document's caches; the signers' chain results are cached after the first PDF (the steady state:
the same authorities all day) and revocation answers are pre-filled (no network). Each figure is
the median of `--rounds` rounds, in PDFs per wall-clock second, with CPU milliseconds per PDF of
this process beside it (the machine is shared). No fact events: this is the use case, not the RPC.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable

from benchmarks.procs import cpu_seconds
from devtools.testpki import pades
from devtools.testpki.loader import COMMITTED, TestPKI
from devtools.testpki.revocation import seed_cache
from services.identity.adapters.fetchers import FetchSettings
from services.identity.adapters.pkix import PkixEngine
from services.identity.adapters.revocation_cache import RevocationCache
from services.identity.bootstrap import certificate_validator, list_store, pdf_verifier, signature_verifier
from services.identity.domain.trustlist import Jurisdiction
from services.identity.service_layer.verify_pdf import PdfVerifier, VerifyPdfSignatures


def verifier(pki: TestPKI) -> PdfVerifier:
    cache = RevocationCache()
    seed_cache(pki, cache)
    store = list_store(pki.list_signers())
    for jurisdiction in Jurisdiction:
        assert store.load(pki.trust_list_document(jurisdiction)).accepted
    engine = PkixEngine(cache=cache, fetch=FetchSettings(timeout_seconds=0.5, allowed_hosts=frozenset({"127.0.0.1"})))
    return pdf_verifier(signature_verifier(certificate_validator(store, engine)))


def documents(pki: TestPKI, count: int) -> dict[str, list[bytes]]:
    tsa = pades.PkiTsa("hk-tsa")  # on the test trust lists: the document timestamp is judged in full
    shapes: dict[str, Callable[[bytes], bytes]] = {
        "(a) one signature, HK RSA-2048": lambda pdf: pades.sign(pdf, pki, "hk-personal", "Applicant"),
        "(a) one signature, GD SM2": lambda pdf: pades.sign(pdf, pki, "gd-personal", "Applicant"),
        "(b) two signatures + doc timestamp": lambda pdf: pades.timestamp(
            pades.sign(pades.sign(pdf, pki, "hk-personal", "Applicant"), pki, "mo-personal", "Director"), tsa
        ),
    }
    return {
        label: [make(pades.minimal_pdf(f"Application {n} for business registration")) for n in range(count)]
        for label, make in shapes.items()
    }


async def rate(target: PdfVerifier, pdfs: list[bytes], seconds: float) -> tuple[float, float]:
    """(PDFs per wall-clock second, CPU ms per PDF) verifying `pdfs` in turn for `seconds`."""
    for pdf in pdfs:  # once each first: every PDF must pass, and the signers' chains get cached
        assert (await target.verify(VerifyPdfSignatures(pdf))).passed
    done, cpu0, start = 0, cpu_seconds(os.getpid()), time.perf_counter()
    while time.perf_counter() - start < seconds:
        await target.verify(VerifyPdfSignatures(pdfs[done % len(pdfs)]))
        done += 1
    elapsed, cpu = time.perf_counter() - start, cpu_seconds(os.getpid()) - cpu0
    return done / elapsed, 1000 * cpu / done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--documents", type=int, default=8)
    args = parser.parse_args()
    pki = TestPKI(COMMITTED)
    target = verifier(pki)
    sets = documents(pki, args.documents)
    print(f"PAdES benchmarks: {args.seconds:g} s per measurement, median of {args.rounds} rounds, in process")
    for label, pdfs in sets.items():
        figures = [asyncio.run(rate(target, pdfs, args.seconds)) for _ in range(args.rounds)]
        per_second = statistics.median(f[0] for f in figures)
        cpu_ms = statistics.median(f[1] for f in figures)
        size = statistics.median(len(p) for p in pdfs)
        print(f"    {label:38s} {per_second:7.1f} PDFs/s  {cpu_ms:6.2f} CPU ms/PDF  ({size:.0f} bytes each)")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f}")


if __name__ == "__main__":
    main()
