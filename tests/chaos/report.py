"""What a chaos scenario found: counts, audits, the recovery time, printed as one block and kept as JSON.

Figures of each run are appended to ``.local/chaos/results.jsonl`` (docs/chaos.md tabulates them).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import asdict, dataclass, field

from baylink.gateway.v1 import partner_city_pb2 as pc
from tests.chaos.cluster import BAYLINK, LOCAL, ROOT, Cluster
from tests.chaos.load import Load

RECOVERY_GOAL_SECONDS = 10.0


@dataclass
class Outcome:
    scenario: str
    fault: str
    did: str = ""
    acked: int = 0  # fee transfers the kiosk heard committed (plus events a producer had acknowledged)
    consumed: int = 0  # of those, taken in by their consumer (the registry marked the fee paid; …)
    lost: int = 0
    duplicated: int = 0
    started: int = 0
    finished: int = 0  # approved, or rejected and refunded exactly once
    abandoned: int = 0  # never reached payment: no money moved
    refunds: int = 0
    refund_max_seconds: float | None = None
    recovery_seconds: float | None = None
    failed_calls: int = 0
    audits: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    def show(self) -> str:
        recovery = "n/a" if self.recovery_seconds is None else f"{self.recovery_seconds:.2f} s"
        refund = "n/a" if self.refund_max_seconds is None else f"{self.refund_max_seconds:.1f} s"
        lines = [
            f"== chaos: {self.scenario}",
            f"   fault        {self.fault}",
            f"   did          {self.did}",
            f"   acked {self.acked}  consumed {self.consumed}  lost {self.lost}  duplicated {self.duplicated}",
            f"   registrations started {self.started}  finished {self.finished}  abandoned before paying "
            f"{self.abandoned}  refunds {self.refunds} (slowest {refund})"
            if self.started or self.abandoned
            else "   registrations -",
            f"   recovery (fault → first success) {recovery}  (goal < {RECOVERY_GOAL_SECONDS:.0f} s); "
            f"failed calls meanwhile {self.failed_calls}",
            f"   audits       {', '.join(f'{k}: {v}' for k, v in self.audits.items()) or '-'}",
            f"   wall         {self.wall_seconds:.1f} s",
        ]
        lines += [f"   PROBLEM      {p}" for p in self.problems]
        return "\n".join(lines)

    def save(self) -> None:
        out = LOCAL / "chaos"
        out.mkdir(parents=True, exist_ok=True)
        record = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **asdict(self)}
        with (out / "results.jsonl").open("a") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


async def check_registrations(load: Load, outcome: Outcome) -> None:
    """Every registration whose fee was paid ended: approved, or rejected with exactly one refund;
    every fee transfer the kiosk heard committed is committed once and consumed by the registry."""
    regs = load.registrations
    outcome.abandoned = sum(1 for r in regs if not r.application_id)
    for reg in regs:
        if not reg.application_id:
            continue
        fees = await load.committed(reg.payment_reference)
        if not reg.paid_at and not fees:
            outcome.abandoned += 1  # the payment never landed (its reservation lapses by itself)
            continue
        outcome.started += 1
        outcome.acked += 1 if reg.paid_at else 0
        if len(fees) > 1:
            outcome.duplicated += len(fees) - 1
            outcome.problems.append(f"{reg.application_id}: {len(fees)} committed fee transfers")
        app = await load.application(reg.application_id)
        if fees and app.fee_paid:
            outcome.consumed += 1
        elif reg.paid_at:
            outcome.lost += 1
            outcome.problems.append(f"{reg.application_id}: fee acknowledged, payments has {len(fees)}, "
                                    f"registry fee_paid={app.fee_paid}")  # fmt: skip
        refunds = await load.committed(f"REFUND-{reg.application_id}")
        outcome.refunds += len(refunds)
        if reg.decision == "approve":
            ok = app.status == pc.APPLICATION_STATUS_APPROVED and bool(app.uscc) and not refunds
        else:
            ok = app.status == pc.APPLICATION_STATUS_REJECTED and len(refunds) == 1
            if len(refunds) > 1:
                outcome.duplicated += len(refunds) - 1
        if ok:
            outcome.finished += 1
        else:
            status = pc.ApplicationStatus.Name(app.status)
            outcome.problems.append(
                f"{reg.application_id} ({reg.decision}): {status}, {len(refunds)} refunds; {reg.error or 'no error'}"
            )
    seconds = [r.refund_seconds for r in regs if r.refund_seconds is not None]
    outcome.refund_max_seconds = max(seconds) if seconds else None
    for reg in regs:
        if reg.error and not reg.paid_at and reg.application_id:
            outcome.problems.append(f"registration {reg.n}: {reg.error}")


def audits(cluster: Cluster, outcome: Outcome) -> None:
    """``baylink payments audit`` (the ledger's invariants) and ``baylink audit verify`` (the gateway's chain,
    against a copy of the gateway's public key kept apart from its signing key, as an auditor would)."""
    trusted = LOCAL / "chaos" / "trusted-audit-key.pem"
    trusted.parent.mkdir(parents=True, exist_ok=True)
    trusted.write_bytes((LOCAL / "gateway" / "audit-signing-key.pem.pub").read_bytes())
    commands = {
        "payments audit": [
            str(BAYLINK), "payments", "audit", "--database-url", cluster.database_url("baylink_payments"),
        ],
        "audit verify": [
            str(BAYLINK), "audit", "verify", "--database", cluster.database_url("baylink_gateway"),
            "--public-key", str(trusted),
        ],
    }  # fmt: skip
    for name, command in commands.items():
        done = subprocess.run(
            command, cwd=ROOT, env=cluster.env(), capture_output=True, text=True, timeout=300, check=False
        )
        last = (done.stdout.strip().splitlines() or done.stderr.strip().splitlines() or [""])[-1]
        outcome.audits[name] = "passed" if done.returncode == 0 else f"FAILED ({last[:200]})"
        if done.returncode != 0:
            outcome.problems.append(f"{name}: exit {done.returncode}: {done.stdout[-400:]}{done.stderr[-400:]}")
