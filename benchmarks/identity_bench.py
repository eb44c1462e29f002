"""Benchmarks of the identity service (not tests): `make bench`, or

    .venv/bin/python -m benchmarks.identity_bench [--seconds 2] [--rounds 3] [--grpc-seconds 4] [--no-grpc]
        [--grpc-only] [--workers 1,2] [--paths 1,3,25,100] [--anonymous] [--events-share]
        [--against NAME=VALUE] [--against-tree DIR] [--leaves hk-personal-ec,gd-personal] [--no-floor]

(a) cold chain validations/s: full RFC 5280 validation of a 3-certificate chain every time (no
    chain-result cache), revocation answers already in the revocation cache;
(b) signed-document verifications/s: detached CMS, a different document and signature every time,
    the signer's chain result cached (the steady state: the same signers sign all day);
(c) raw signature verifications/s in the same run: the same signatures over the same signed
    attributes, with the library's verify and the key already loaded (the floor under (b));
    printed with (b)/(c), goal >= 0.5, and our own verify wrapper beside it;
(e) timestamped signed-document verifications/s in the same run: the same documents and signatures
    as (b), each with a signature time-stamp of the jurisdiction's test TSA (RFC 3161), checked
    and taken as proof of existence. The goal's lines pair each signer with a TSA of its own key
    type (the RSA signer with hk-tsa-rsa). "The timestamp check costs at most 2x a plain
    verification" is printed in both readings: the whole, (b)/(e) <= 2 (by rate and by CPU), and
    what the time-stamp adds, (e - b)/b <= 2 by CPU, with (c) of the TSA's own key type (the
    library's verify, measured on the line of a signer of that type) beside it: a token's signature
    is part of what it adds. (e') the RSA signer's documents stamped by the P-256 TSA instead, a
    reference line without a goal: one ECDSA P-256 verify costs more than a whole plain RSA
    verification, so that line measures the TSA's choice of key more than the check;
(d) verifications/s over gRPC against the service in separate processes (the real bootstrap:
    database, fact events, outbox relay to Kafka; `--workers 1,2` server processes on one port),
    from client processes keeping N calls in flight over M channels, on the same cores; goal
    >= 2,000/s on one worker. The machine is shared, so the goal line reads the server's CPU per
    verification (all its processes and threads) against what one core can spend at 2,000/s
    (500 us), with the ratio; the wall-clock rate and the clients' CPU follow. Each line names its
    path: VerifySignature (one signature per call) or VerifySignatures (a batch per call; each item
    verified and recorded as one call would be); `--paths 1` measures only the first. The clients
    send a correlation id per call as Baylink's callers do (`--anonymous`: none, and the server
    sends one back). Fact events stay on; `--events-share` adds rounds against a server that
    records none; `--against NAME=VALUE` (repeatable) adds rounds against a server started with
    those environment variables (a setting, BAYLINK_IDENTITY_...), and `--against-tree DIR` against a
    server running another checkout's code (`git worktree add /tmp/base main`): each round's pair is
    printed, since on this machine the same build moves by more than most changes gain.
    `--leaves hk-personal-ec` measures only that signer. Under the unary line, the floor: the same
    server's health Check from the same clients, rounds alternating with VerifySignature's (what any
    call costs this server before a verification; `--no-floor` skips it). IDENTITY_BENCH_PROFILE=DIR samples the
    server with py-spy over the first window of each path (DIR/<leaf>-<items per call>.spy, raw
    format).

Each figure is the median of `--rounds` rounds, as operations per wall-clock second; CPU
microseconds per operation are printed beside it because the machine is shared and wall-clock
rates move with whatever else runs (the load and the busiest other processes are printed at the
end). P-256 and SM2 signers are measured, with RSA where it is cheap.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import pickle
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import algos, cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from baylink.runtime.settings import KafkaSettings
from benchmarks.procs import cpu_seconds, machine_speed
from benchmarks.runtime_bench import create_topic, delete_topics
from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import COMMITTED, TestPKI
from devtools.testpki.revocation import seed_cache
from devtools.testpki.timestamps import timestamp_signature
from services.identity.adapters import signatures, sm2
from services.identity.adapters.crypto import CmsSignatureChecks, X509Reader
from services.identity.adapters.fetchers import FetchSettings
from services.identity.adapters.keys import KeyKind
from services.identity.adapters.pkix import PkixEngine
from services.identity.adapters.revocation_cache import RevocationCache
from services.identity.adapters.trustlist_signature import ListSignatureVerifier
from services.identity.domain.trustlist import Jurisdiction
from services.identity.service_layer.chain_cache import ChainResultCache
from services.identity.service_layer.trust_store import TrustListStore
from services.identity.service_layer.validate_certificate import CertificateValidator, ValidateCertificate
from services.identity.service_layer.verify_signature import SignatureVerifier, VerifyCmsSignature

RATIO_GOAL = 0.5
SIGNED_AT = datetime(2026, 2, 1, tzinfo=UTC)  # and time-stamped then
TIMESTAMP_COST_GOAL = 2.0  # what checking a time-stamp adds: at most this many plain verifications
# Each signer's TSA for the goal's lines: one of the signer's own key type.
TSA_OF = {
    "hk-personal-ec": ("hk-tsa", "sha256"),
    "gd-personal": ("gd-tsa", "sm3"),
    "hk-personal": ("hk-tsa-rsa", "sha256"),
}
OTHER_TSA_OF = {"hk-personal": ("hk-tsa", "sha256")}  # (e'), reference lines: a TSA of another key type
GRPC_GOAL = 2000.0
POOL = 256  # distinct signed documents per signer, cycled through
RESPONDER_PORT = 8399  # where the committed test PKI's certificates point for CRL and OCSP
EVENT_PARTITIONS = 6  # as baylink.identity.v1 (deploy/kafka/topics.toml)


@dataclass(frozen=True)
class Signer:
    label: str
    leaf: str
    grpc: bool  # measured over gRPC too


SIGNERS = (
    Signer("P-256 leaf, RSA chain", "hk-personal-ec", True),
    Signer("SM2 leaf, SM2 chain", "gd-personal", True),
    Signer("RSA leaf, RSA chain", "hk-personal", False),
)


@dataclass(frozen=True)
class Figure:
    rate: float  # operations per wall-clock second
    cpu_us: float  # CPU microseconds per operation (this process)


def _median(figures: list[Figure]) -> Figure:
    return Figure(statistics.median(f.rate for f in figures), statistics.median(f.cpu_us for f in figures))


def _measure(seconds: float, step: Callable[[int], object]) -> Figure:
    count, cpu, started = 0, time.process_time(), time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(10):
            step(count)
            count += 1
    return Figure(count / elapsed, (time.process_time() - cpu) / count * 1e6)


async def _ameasure(seconds: float, step: Callable[[int], Awaitable[object]]) -> Figure:
    count, cpu, started = 0, time.process_time(), time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(10):
            await step(count)
            count += 1
    return Figure(count / elapsed, (time.process_time() - cpu) / count * 1e6)


def _validator(pki: TestPKI, cache: RevocationCache, chain_cache: ChainResultCache) -> CertificateValidator:
    store = TrustListStore(pki.list_signers(), ListSignatureVerifier())
    for jurisdiction in Jurisdiction:
        store.load(pki.trust_list_document(jurisdiction))
    engine = PkixEngine(cache=cache, fetch=FetchSettings(timeout_seconds=0.5, allowed_hosts=frozenset({"127.0.0.1"})))
    return CertificateValidator(store, engine, chain_cache, reader=X509Reader())


def signed_documents(pki: TestPKI, leaf: str, count: int = POOL) -> list[tuple[bytes, bytes]]:
    """`count` different documents of one signer and their detached CMS signatures."""
    key, certificate = pki.key(leaf), pki.certificate(leaf)
    documents = [hashlib.sha256(b"%s document %d" % (leaf.encode(), i)).digest() * 128 for i in range(count)]
    return [(document, sign_detached(document, key, certificate, SIGNED_AT)) for document in documents]


# -- (a) ----------------------------------------------------------------------------------------


async def cold_chain(pki: TestPKI, cache: RevocationCache, leaf: str, seconds: float) -> Figure:
    validator = _validator(pki, cache, ChainResultCache(max_entries=0))
    command = ValidateCertificate(pki.cert(leaf), tuple(pki.intermediates(leaf)))
    assert (await validator.handle(command)).passed
    return await _ameasure(seconds, lambda _: validator.handle(command))


# -- (b) and (c) --------------------------------------------------------------------------------


class DocumentBench:
    """(b) and (c) for one signer, over the same pool of signatures."""

    def __init__(self, pki: TestPKI, cache: RevocationCache, leaf: str) -> None:
        self.verifier = SignatureVerifier(_validator(pki, cache, ChainResultCache()), CmsSignatureChecks())
        intermediates = tuple(pki.intermediates(leaf))
        pool = signed_documents(pki, leaf)
        self.commands = [VerifyCmsSignature(s, document=d, intermediates=intermediates) for d, s in pool]

        def stamped_by(tsa: str, imprint_hash: str) -> list[VerifyCmsSignature]:
            return [
                VerifyCmsSignature(
                    timestamp_signature(s, tsa, SIGNED_AT, imprint_hash), document=d, intermediates=intermediates
                )
                for d, s in pool
            ]

        self.stamped = stamped_by(*TSA_OF[leaf])
        self.stamped_other = stamped_by(*OTHER_TSA_OF[leaf]) if leaf in OTHER_TSA_OF else []
        infos = [cms.ContentInfo.load(s)["content"]["signer_infos"][0] for _, s in pool]
        # What the signature covers (RFC 5652 5.4) and the signature value: the raw verification.
        self.raw = [(i["signature"].native, b"\x31" + i["signed_attrs"].dump()[1:]) for i in infos]
        self.algorithm = infos[0]["signature_algorithm"]
        certificate = pki.certificate(leaf)
        self.public_key_info = certificate.public_key
        self.primitive = _primitive_verify(pki, leaf)

    async def warm(self) -> None:
        for command in self.commands[:2]:
            report = await self.verifier.verify_cms(command)
            assert report.passed, report
        for command in self.stamped[:2] + self.stamped_other[:2]:
            report = await self.verifier.verify_cms(command)
            assert report.passed and report.proven_signing_time == SIGNED_AT, report

    async def documents(self, seconds: float) -> Figure:
        commands, n = self.commands, len(self.commands)
        return await _ameasure(seconds, lambda i: self.verifier.verify_cms(commands[i % n]))

    async def timestamped(self, seconds: float, other_tsa: bool = False) -> Figure:
        commands = self.stamped_other if other_tsa else self.stamped
        n = len(commands)
        return await _ameasure(seconds, lambda i: self.verifier.verify_cms(commands[i % n]))

    def raw_library(self, seconds: float) -> Figure:
        raw, n, verify = self.raw, len(self.raw), self.primitive
        return _measure(seconds, lambda i: verify(*raw[i % n]))

    def raw_wrapper(self, seconds: float) -> Figure:
        raw, n, key, algorithm = self.raw, len(self.raw), self.public_key_info, self.algorithm
        hash_name = "sm3" if sm2.is_sm2_key(key) else "sha256"
        if hash_name == "sm3":
            algorithm = algos.SignedDigestAlgorithm({"algorithm": sm2.SM2_WITH_SM3_OID})
        elif algorithm["algorithm"].native == "ecdsa":
            algorithm = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
        context = "sha256" if hash_name != "sm3" else None
        assert signatures.verify(*raw[0], key, algorithm, digest_algorithm=context)
        return _measure(seconds, lambda i: signatures.verify(*raw[i % n], key, algorithm, digest_algorithm=context))


def _primitive_verify(pki: TestPKI, leaf: str) -> Callable[[bytes, bytes], None]:
    """The library call alone, key loaded once: raises InvalidSignature if it does not verify."""
    key = pki.key(leaf)
    public = key.private.public_key()
    if key.kind is KeyKind.SM2:
        from tongsuopy.crypto import hashes as ts_hashes
        from tongsuopy.crypto.asymciphers import ec as ts_ec

        algorithm = ts_ec.ECDSA(ts_hashes.SM3())
        return lambda signature, data: public.verify(signature, data, algorithm)
    if key.kind is KeyKind.RSA_2048:
        return lambda signature, data: public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    return lambda signature, data: public.verify(signature, data, ec.ECDSA(hashes.SHA256()))


# -- (d) ----------------------------------------------------------------------------------------


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def bench_host(events: bool, topic: str | None, settings: Any) -> Any:
    """One benchmark server process's host (`serve` runs it once, or once per worker)."""
    from services.identity.bootstrap import bootstrap

    service = bootstrap(settings)
    if topic is not None:
        _events_to(topic)
        service.app.recorder.topic = topic
    if not events:

        async def no_events(_: object) -> None:
            return None

        service.app.recorder.record = no_events  # type: ignore[assignment,method-assign]
    return service.host


def _settings(workdir: Path, workers: int) -> Any:
    """A benchmark server's settings: free ports, a temporary database, quiet logs."""
    from services.identity.config import IdentitySettings

    return IdentitySettings(
        grpc_port=0,
        metrics_port=0,
        database_url=f"sqlite+aiosqlite:///{workdir / 'identity.db'}",
        trust_lists_dir=COMMITTED / "trustlists",
        trusted_list_signers={j: [COMMITTED / "certs" / f"tl-signer-{j.lower()}.pem"] for j in ("HK", "MO", "GD")},
        revocation_allowed_hosts=["127.0.0.1"],
        drain_delay_seconds=0,
        shutdown_grace_seconds=1,
        log_level="WARNING",
        workers=workers,
        announce=False,  # see serve's docstring
    )


def serve(events: bool, topic: str | None, workers: int) -> None:
    """Child process: the identity service as `python -m services.identity` runs it (same
    bootstrap, database, relay and gRPC server; `workers` processes on one port, see
    baylink/runtime/workers.py), on a free port in a temporary database. It does not announce
    itself in .local/run, which belongs to `make up`, and its fact events go to a topic of the
    benchmark's own (same partitions), not onto the service topic that tests read."""
    import functools

    from baylink.runtime.logging import configure_logging
    from baylink.runtime.workers import run_service

    with tempfile.TemporaryDirectory(prefix="identity-bench-") as workdir:
        settings = _settings(Path(workdir), workers)
        configure_logging("identity", settings.log_level)
        build = functools.partial(bench_host, events, topic)
        run_service(build, settings, on_serving=lambda port: print(json.dumps({"port": port}), flush=True))


def _events_to(topic: str) -> None:
    """Send every event this process stages to `topic` (the trust-list updates of start-up; the
    fact events through the recorder's own `topic`, set in bench_host/serve), for a benchmark
    server."""
    from baylink.runtime import outbox
    from services.identity.service_layer import application

    stage = outbox.add_events

    async def to_topic(session: Any, events: Any, *, topic: str | None = topic) -> int:
        return await stage(session, events, topic=topic)

    outbox.add_events = to_topic
    application.add_events = to_topic  # type: ignore[attr-defined]  # imported there by name


@dataclass(frozen=True)
class ClientResult:
    calls: int
    seconds: float
    client_cpu: float
    server_cpu: float
    p50_ms: float
    p99_ms: float
    failures: int


async def client(args: argparse.Namespace, serialized: list[bytes]) -> None:
    """Child process: keep `inflight` VerifySignature calls going over `channels` channels."""
    from grpc import aio
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from baylink.identity.v1 import identity_service_pb2 as api
    from baylink.identity.v1 import identity_service_pb2_grpc as api_grpc
    from baylink.identity.v1 import validation_pb2 as pb
    from baylink.runtime.context import new_id
    from baylink.runtime.grpc.interceptors import CORRELATION_HEADER

    requests = [api.VerifySignatureRequest.FromString(r) for r in serialized]
    size = args.batch
    batches = [api.VerifySignaturesRequest(requests=requests[j : j + size]) for j in range(0, len(requests), size or 1)]
    channels = [aio.insecure_channel(args.target) for _ in range(args.channels)]
    stubs = [(api_grpc.IdentityServiceStub(c), health_pb2_grpc.HealthStub(c)) for c in channels]
    health_request = health_pb2.HealthCheckRequest()
    window: dict[str, float] = {}
    latencies: list[float] = []
    counts = {"calls": 0, "failures": 0}  # calls: verifications (a batch call counts its items)
    deadline = time.perf_counter() + args.warmup + args.seconds

    def metadata() -> tuple[tuple[str, str], ...] | None:
        """A Baylink caller sends the correlation id of the flow it serves (a new one per call
        here); with --anonymous none, and the server sends a new one back in the initial metadata."""
        return None if args.anonymous else ((CORRELATION_HEADER, new_id()),)

    async def call(stub: Any, health: Any, i: int) -> list[bool]:
        """Whether each verification of one call passed: one VerifySignature, one VerifySignatures
        of `size` items, or (`size` < 0, the floor) one health Check answered SERVING."""
        if size < 0:
            reply = await health.Check(health_request, metadata=metadata())
            return [reply.status == health_pb2.HealthCheckResponse.SERVING]
        if not size:
            report = (await stub.VerifySignature(requests[i % len(requests)], metadata=metadata())).report
            return [report.indication == pb.INDICATION_TOTAL_PASSED]
        reply = await stub.VerifySignatures(batches[i % len(batches)], metadata=metadata())
        return [
            r.HasField("response") and r.response.report.indication == pb.INDICATION_TOTAL_PASSED for r in reply.results
        ]

    async def worker(index: int) -> None:
        (stub, health), i = stubs[index % len(stubs)], index * 7919
        while (now := time.perf_counter()) < deadline:
            passed = await call(stub, health, i)
            i += 1
            done = time.perf_counter()
            if "start" in window:
                counts["calls"] += len(passed)
                latencies.append(done - now)
                counts["failures"] += passed.count(False)

    async def clock() -> None:
        await asyncio.sleep(args.warmup)
        window.update(start=time.perf_counter(), cpu=time.process_time(), server=cpu_seconds(args.server_pid))
        await asyncio.sleep(args.seconds)
        window.update(end=time.perf_counter(), cpu_end=time.process_time(), server_end=cpu_seconds(args.server_pid))
        window["calls"] = counts["calls"]

    await asyncio.gather(clock(), *(worker(i) for i in range(args.inflight)))
    for channel in channels:
        await channel.close()
    latencies.sort()
    result = ClientResult(
        int(window["calls"]),
        window["end"] - window["start"],
        window["cpu_end"] - window["cpu"],
        window["server_end"] - window["server"],
        latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
        latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0,
        counts["failures"],
    )
    print(json.dumps(result.__dict__), flush=True)


def _forward(lines: Any) -> None:
    for line in lines:
        sys.stderr.write(line)


class Server:
    def __init__(
        self, events: bool, topic: str, workers: int = 1, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.identity_bench",
                "--serve",
                "--topic",
                topic,
                "--workers",
                str(workers),
                *([] if events else ["--no-events"]),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {}), **({"PYTHONPATH": str(cwd)} if cwd else {})},
            cwd=cwd,
        )
        assert self.process.stdout is not None
        # Its log lines share stdout with the port announcement: pass them on to stderr, before the
        # announcement and after (a thread drains the pipe so that logging never blocks the server).
        port = None
        for line in self.process.stdout:
            if line.startswith('{"port"'):
                port = json.loads(line)["port"]
                break
            sys.stderr.write(line)
        if port is None:
            raise RuntimeError("the identity service did not start (see its stderr above)")
        self.target = f"127.0.0.1:{port}"
        threading.Thread(target=_forward, args=(self.process.stdout,), daemon=True).start()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _grpc_requests(pki: TestPKI, leaf: str, path: Path) -> None:
    from baylink.identity.v1 import identity_service_pb2 as api
    from baylink.identity.v1 import validation_pb2 as pb

    algorithm = pb.DIGEST_ALGORITHM_SM3 if pki.key(leaf).kind is KeyKind.SM2 else pb.DIGEST_ALGORITHM_SHA256
    digest = sm2.sm3 if algorithm == pb.DIGEST_ALGORITHM_SM3 else (lambda d: hashlib.sha256(d).digest())
    requests = [
        api.VerifySignatureRequest(
            cms_signature=signature,
            document_digest=digest(document),
            digest_algorithm=algorithm,
            intermediates_der=pki.intermediates(leaf),
        ).SerializeToString()
        for document, signature in signed_documents(pki, leaf, 512)
    ]
    path.write_bytes(pickle.dumps(requests))


def run_clients(
    server: Server,
    requests: Path,
    inflight: int,
    channels: int,
    processes: int,
    seconds: float,
    batch: int = 0,
    anonymous: bool = False,
) -> ClientResult:
    """`processes` client processes sharing `inflight` calls in flight; their results summed.
    `batch` > 0: each call is one VerifySignatures of that many items (calls count verifications);
    `FLOOR` (-1): each call is the server's health Check."""
    per = max(1, inflight // processes)
    command = [
        sys.executable,
        "-m",
        "benchmarks.identity_bench",
        "--client",
        "--target",
        server.target,
        "--requests",
        str(requests),
        "--server-pid",
        str(server.process.pid),
        "--inflight",
        str(per),
        "--channels",
        str(max(1, channels // processes)),
        "--grpc-seconds",
        str(seconds),
        "--batch",
        str(batch),
        *(["--anonymous"] if anonymous else []),
    ]
    children = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    results = []
    for child in children:
        out, _ = child.communicate(timeout=seconds + 120)
        if child.returncode != 0:
            raise RuntimeError(f"benchmark client failed ({child.returncode})")
        results.append(ClientResult(**json.loads(out.strip().splitlines()[-1])))
    return ClientResult(
        sum(r.calls for r in results),
        statistics.mean(r.seconds for r in results),
        sum(r.client_cpu for r in results),
        statistics.mean(r.server_cpu for r in results),  # each client sampled the same server
        statistics.median(r.p50_ms for r in results),
        max(r.p99_ms for r in results),
        sum(r.failures for r in results),
    )


# -- the run ------------------------------------------------------------------------------------


def _goal(value: float, goal: float) -> str:
    mark = "met" if value >= goal else f"{value / goal:.0%} of it"
    return f"goal >= {goal:g}: {mark}"


def _cost_goal(cost: float) -> str:
    mark = "met" if cost <= TIMESTAMP_COST_GOAL else f"{cost / TIMESTAMP_COST_GOAL:.2f}x it"
    return f"goal <= {TIMESTAMP_COST_GOAL:g}: {mark}"


def _timestamp_lines(b: Figure, e: Figure, tsa_c: Figure | None, goal: bool = True) -> list[str]:
    """Both readings of the timestamp goal for one signer: the whole verification, (b)/(e), and
    what the time-stamp adds, (e - b)/b by CPU, with the TSA's own verification (c) beside it.
    `goal=False`: a reference line, its ratios printed without the goal's verdict."""
    whole, whole_cpu = b.rate / e.rate, e.cpu_us / b.cpu_us
    added = e.cpu_us - b.cpu_us
    share = added / b.cpu_us

    def verdict(value: float) -> str:
        return _cost_goal(value) if goal else "reference line, no goal"

    lines = [
        f"whole:  (b)/(e) = {whole:.2f} (by CPU time {whole_cpu:.2f})   by rate {verdict(whole)}; "
        f"by CPU {verdict(whole_cpu)}",
        f"added:  (e-b)/b = {share:.2f} by CPU ({added:.0f} us on {b.cpu_us:.0f})   {verdict(share)}",
    ]
    if tsa_c is not None:
        lines.append(
            f"        of which one verify of the TSA's key type (c, library, key loaded) {tsa_c.cpu_us:.0f} us CPU, "
            f"the rest {added - tsa_c.cpu_us:.0f} us (both medians: the rest moves with either)"
        )
    return lines


def _figure(figure: Figure) -> str:
    return f"{figure.rate:8.0f}/s  ({figure.cpu_us:6.0f} us CPU/op)"


async def in_process(args: argparse.Namespace, pki: TestPKI) -> None:
    cache = RevocationCache()
    seed_cache(pki, cache)
    seconds, rounds = args.seconds, args.rounds
    print(f"identity benchmarks: {seconds:g} s per measurement, median of {rounds} rounds, ops per wall-clock second")

    print("(a) cold chain validations (3 certificates, revocation data cached)          no goal set")
    for signer in SIGNERS:
        figures = [await cold_chain(pki, cache, signer.leaf, seconds) for _ in range(rounds)]
        print(f"    {signer.label:26s} {_figure(_median(figures))}")

    print("(b) signed-document verifications, chain cached  /  (c) raw verifications, same signatures")
    print("(e) the same documents with a signature time-stamp (RFC 3161), checked as proof of existence")
    library_by_kind: dict[KeyKind, Figure] = {}  # (c) of each key type measured so far
    for signer in SIGNERS:
        bench = DocumentBench(pki, cache, signer.leaf)
        await bench.warm()
        documents, library, wrapper, stamped, stamped_other = [], [], [], [], []
        for _ in range(rounds):  # interleaved, so that (b), (c), (e) and (e') see the same machine
            documents.append(await bench.documents(seconds))
            stamped.append(await bench.timestamped(seconds))
            if bench.stamped_other:
                stamped_other.append(await bench.timestamped(seconds, other_tsa=True))
            library.append(bench.raw_library(seconds / 2))
            wrapper.append(bench.raw_wrapper(seconds / 2))
        b, c, w, e = _median(documents), _median(library), _median(wrapper), _median(stamped)
        ratio = b.rate / c.rate
        cpu_ratio = c.cpu_us / b.cpu_us
        print(f"    {signer.label:26s} (b) {_figure(b)}")
        print(f"    {'':26s} (c) {_figure(c)}  library verify, key loaded")
        print(f"    {'':26s}     {_figure(w)}  our verify wrapper (signatures.verify)")
        print(f"    {'':26s} (b)/(c) = {ratio:.2f} (by CPU time {cpu_ratio:.2f})   {_goal(ratio, RATIO_GOAL)}")
        library_by_kind[pki.key(signer.leaf).kind] = c
        tsa = TSA_OF[signer.leaf][0]
        tsa_kind = pki.key(tsa).kind
        print(f"    {'':26s} (e) {_figure(e)}  timestamped ({tsa}, {tsa_kind.value})")
        for line in _timestamp_lines(b, e, library_by_kind.get(tsa_kind)):
            print(f"    {'':26s} {line}")
        if stamped_other:
            other = OTHER_TSA_OF[signer.leaf][0]
            other_kind = pki.key(other).kind
            print(f"    {'':26s} (e') {_figure(_median(stamped_other))}  timestamped ({other}, {other_kind.value})")
            for line in _timestamp_lines(b, _median(stamped_other), library_by_kind.get(other_kind), goal=False):
                print(f"    {'':26s} {line}")


def grpc_figures(pki: TestPKI, args: argparse.Namespace) -> None:
    responder = None
    if not _port_open(RESPONDER_PORT):  # else `make up`'s responder serves the same committed PKI
        responder = subprocess.Popen(
            [sys.executable, "-m", "devtools.testpki", "serve", str(COMMITTED), "--port", str(RESPONDER_PORT)],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            if _port_open(RESPONDER_PORT):
                break
            time.sleep(0.1)
    print(
        f"(d) verifications/s over gRPC with concurrent clients, fact events on ({args.grpc_seconds:g} s windows, "
        f"median of {args.rounds}); the clients run on the same cores as the service"
    )
    kafka = KafkaSettings()
    topic = f"bench.identity.{uuid.uuid4().hex[:8]}"
    asyncio.run(create_topic(kafka, topic, EVENT_PARTITIONS))
    try:
        with tempfile.TemporaryDirectory(prefix="identity-bench-") as workdir:
            for signer in (s for s in SIGNERS if s.grpc and (not args.leaves or s.leaf in args.leaves)):
                requests = Path(workdir) / f"{signer.leaf}.pickle"
                _grpc_requests(pki, signer.leaf, requests)
                for workers in args.workers:
                    _grpc_signer(signer, requests, workers, topic, args)
    finally:
        asyncio.run(delete_topics(kafka, [topic]))
        if responder is not None:
            responder.terminate()
            responder.wait(10)


@dataclass(frozen=True)
class GrpcPath:
    label: str
    batch: int  # 0: one VerifySignature per call; else VerifySignatures with this many items
    shape: tuple[int, int, int]  # calls in flight, channels, client processes


FLOOR = -1  # a path's batch: the server's grpc.health.v1 Check, the cheapest call it answers
GRPC_PATHS = (
    GrpcPath("VerifySignature, 1 per call", 0, (32, 2, 2)),
    GrpcPath("VerifySignatures, batch of 3", 3, (16, 2, 2)),  # one registry application's materials
    GrpcPath("VerifySignatures, batch of 25", 25, (8, 2, 2)),
    GrpcPath("VerifySignatures, batch of 100", 100, (4, 2, 2)),  # the API's largest batch
)


def _grpc_signer(signer: Signer, requests: Path, workers: int, topic: str, args: argparse.Namespace) -> None:
    servers = [Server(True, topic, workers)]
    if args.events_share:
        servers.append(Server(False, topic, workers))
    if args.against or args.against_tree:
        servers.append(Server(True, topic, workers, dict(args.against), args.against_tree))
    try:
        for server in servers:
            # Chain validated and cached, connections up; on a loaded machine the first calls (revocation
            # fetched, chain built) may take longer than one window, so warm until some have completed.
            for _ in range(10):
                warm = run_clients(server, requests, 4, 1, 1, 1.0)
                if warm.calls or warm.failures:
                    break
            if warm.failures or not warm.calls:
                raise RuntimeError(f"{signer.label}: verifications do not pass ({warm.failures} of {warm.calls})")
        label = f"{signer.label}, {workers} worker{'s' if workers > 1 else ' '}"
        for path in (p for p in GRPC_PATHS if p.batch in args.paths):
            spy = _profile(servers[0], f"{signer.leaf}-{path.batch or 1}", args.grpc_seconds)
            results = [
                run_clients(servers[0], requests, *path.shape, args.grpc_seconds, path.batch, args.anonymous)
                for _ in range(args.rounds)
            ]
            if spy is not None:
                spy.wait(60)
            _grpc_line(label, path, results)
            if args.events_share:
                on, off = _alternating(servers[0], servers[1], requests, path, args)
                print(
                    f"    {'':40s} events on/off, alternating: {_median_rate(on):.0f}/s vs {_median_rate(off):.0f}/s; "
                    f"server CPU {_median_server_cpu(on):.0f} vs {_median_server_cpu(off):.0f} us/verification: "
                    f"events take {1 - _median_rate(on) / _median_rate(off):.0%} of the throughput, "
                    f"{1 - _median_server_cpu(off) / _median_server_cpu(on):.0%} of the server's CPU"
                )
            if args.against or args.against_tree:
                _against(servers[0], servers[-1], requests, path, args)
            if path.batch == 0 and not args.no_floor:
                _floor(servers[0], requests, path, args)
    finally:
        for server in servers:
            server.stop()


def _floor(server: Server, requests: Path, path: GrpcPath, args: argparse.Namespace) -> None:
    """The floor under the unary line: the same server's health Check from the same clients, rounds
    alternating with VerifySignature's. What one call costs before any verification: gRPC's own
    work in and around the call and the interceptor."""
    checks, again = _alternating(server, server, requests, path, args, batches=(FLOOR, path.batch))
    floor, verification = _median_server_cpu(checks), _median_server_cpu(again)
    budget = 1e6 / GRPC_GOAL
    print(
        f"    {'':40s} floor, the same server's health Check from the same clients: {floor:.0f} us CPU per call "
        f"({floor / budget:.0%} of the {budget:.0f} us); VerifySignature in the rounds between: {verification:.0f} us, "
        f"{verification - floor:.0f} us above the floor ({_median_rate(checks):.0f} checks/s)"
    )


def _profile(server: Server, name: str, seconds: float) -> subprocess.Popen[bytes] | None:
    """With IDENTITY_BENCH_PROFILE=DIR: py-spy samples the server's processes over the first
    window of a path (raw format, GIL holders only: where its Python CPU goes) into DIR/NAME.spy."""
    directory = os.environ.get("IDENTITY_BENCH_PROFILE", "")
    if not directory:
        return None
    Path(directory).mkdir(parents=True, exist_ok=True)
    output = Path(directory) / f"{name}.spy"
    spy = [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(server.process.pid), "--subprocesses"]
    options = ["-d", f"{seconds + 1:.0f}", "-r", "200", "--gil", "-f", "raw", "-o", str(output)]
    print(f"    (profiling the server into {output})")
    return subprocess.Popen([*spy, *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _alternating(
    first: Server,
    second: Server,
    requests: Path,
    path: GrpcPath,
    args: argparse.Namespace,
    batches: tuple[int, int] | None = None,
) -> tuple[list[ClientResult], list[ClientResult]]:
    """Rounds alternating between two servers (or two kinds of call, `batches`, on one), so that
    both see the same machine."""
    one, two = batches or (path.batch, path.batch)
    ones, twos = [], []
    for _ in range(args.rounds):
        ones.append(run_clients(first, requests, *path.shape, args.grpc_seconds, one, args.anonymous))
        twos.append(run_clients(second, requests, *path.shape, args.grpc_seconds, two, args.anonymous))
    return ones, twos


def _against(base: Server, other: Server, requests: Path, path: GrpcPath, args: argparse.Namespace) -> None:
    """`--against`: the server with the environment overrides against the plain one, alternating;
    each round's pair is printed as well as the medians (pairs cancel the machine's slow drift)."""
    plain, changed = _alternating(base, other, requests, path, args)
    overrides = " ".join(
        [f"{k}={v}" for k, v in args.against] + ([f"the code of {args.against_tree}"] if args.against_tree else [])
    )
    pairs = ", ".join(
        f"{c.server_cpu / c.calls * 1e6:.0f}/{p.server_cpu / p.calls * 1e6:.0f}"
        for p, c in zip(plain, changed, strict=True)
    )
    base_cpu, other_cpu = _median_server_cpu(plain), _median_server_cpu(changed)
    print(
        f"    {'':40s} with {overrides}, alternating: server CPU {other_cpu:.0f} vs {base_cpu:.0f} us/verification "
        f"(ratio {other_cpu / base_cpu:.2f}; rounds with/without {pairs}); "
        f"{_median_rate(changed):.0f}/s vs {_median_rate(plain):.0f}/s"
    )


def _median_rate(results: list[ClientResult]) -> float:
    return statistics.median(r.calls / r.seconds for r in results)


def _median_server_cpu(results: list[ClientResult]) -> float:
    return statistics.median(r.server_cpu / r.calls * 1e6 for r in results)


def _grpc_line(label: str, path: GrpcPath, results: list[ClientResult]) -> float:
    inflight, channels, processes = path.shape
    result = sorted(results, key=lambda r: r.calls / r.seconds)[len(results) // 2]
    rate, client_cpu = _median_rate(results), result.client_cpu / result.calls * 1e6
    load = Path("/proc/loadavg").read_text().split()[:3]
    server_cpu = _median_server_cpu(results)
    budget = 1e6 / GRPC_GOAL  # CPU microseconds per verification that one core can spend at the goal
    mark = "met" if server_cpu <= budget else "not met"
    print(
        f"    {label:32s} {path.label:30s} server {server_cpu:4.0f} us CPU/verification; goal <= {budget:.0f} "
        f"({GRPC_GOAL:,.0f}/s on one core): ratio {budget / server_cpu:.2f}, {mark}"
    )
    failures = sum(r.failures for r in results)
    print(
        f"    {'':32s} {rate:6.0f}/s wall clock ({_goal(rate, GRPC_GOAL)}, ratio {rate / GRPC_GOAL:.2f}); "
        f"{inflight} calls in flight/{channels} ch/{processes} client procs, clients {client_cpu:4.0f} us CPU/"
        f"verification; per call p50 {result.p50_ms:5.1f} ms, p99 {result.p99_ms:6.1f} ms; loadavg {' '.join(load)}"
        + (f"  {failures} NOT PASSED" if failures else "")
    )
    return rate


def _machine(started_load: tuple[float, float, float]) -> None:
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {started_load[0]:.1f} at start, {load[0]:.1f} at the end")
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        top = subprocess.run(
            ["ps", "-eo", "pcpu,etime,args", "--sort=-pcpu", "--no-headers"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.splitlines()
        mine = (str(os.getpid()), "identity_bench", "ps -eo")
        others = [line for line in top if not any(m in line for m in mine)][:5]
        print("busiest other processes (%CPU over their lifetime, elapsed, command):")
        for line in others:
            print(f"    {line.strip()[:110]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each in-process measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per figure; the median is reported")
    parser.add_argument("--grpc-seconds", type=float, default=4.0, help="length of each gRPC measurement window")
    parser.add_argument("--no-grpc", action="store_true", help="skip (d)")
    parser.add_argument("--grpc-only", action="store_true", help="only (d)")
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2],
        help="server processes on the one port for (d), e.g. 1,2 (each count is measured)",
    )
    parser.add_argument(
        "--paths",
        type=lambda text: {0 if n.strip() == "1" else int(n) for n in text.split(",")},
        default={p.batch for p in GRPC_PATHS},
        help="(d): the paths to measure by items per call, e.g. 1 (VerifySignature) or 1,3,25,100",
    )
    parser.add_argument(
        "--anonymous", action="store_true", help="(d): calls without a correlation id (not as Baylink callers)"
    )
    parser.add_argument("--events-share", action="store_true", help="(d): also measure without fact events")
    parser.add_argument(
        "--no-floor", action="store_true", help="(d): skip the floor (the server's health Check) under the unary line"
    )
    parser.add_argument(
        "--against",
        action="append",
        type=lambda text: tuple(text.split("=", 1)),
        default=[],
        metavar="NAME=VALUE",
        help="(d): also measure a server with this environment variable set (repeatable), rounds alternating",
    )
    parser.add_argument(
        "--against-tree",
        type=lambda text: Path(text).resolve(),
        metavar="DIR",
        help="(d): the server measured against runs the code of this checkout (e.g. a git worktree of main)",
    )
    parser.add_argument(
        "--leaves", type=lambda text: set(text.split(",")), help="(d): only these signers, e.g. hk-personal-ec"
    )
    # Child processes of (d).
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-events", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--requests", help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--inflight", type=int, default=8, help=argparse.SUPPRESS)
    parser.add_argument("--channels", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=float, default=0.5, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(not args.no_events, args.topic, args.workers[0])
    elif args.client:
        args.seconds = args.grpc_seconds
        asyncio.run(client(args, pickle.loads(Path(args.requests).read_bytes())))
    else:
        pki, started_load = TestPKI(COMMITTED), os.getloadavg()
        with machine_speed():
            if not args.grpc_only:
                asyncio.run(in_process(args, pki))
            if not args.no_grpc:
                grpc_figures(pki, args)
        _machine(started_load)


if __name__ == "__main__":
    main()
