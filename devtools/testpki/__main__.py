"""Command line of the test PKI.

python -m devtools.testpki build OUTDIR [--base-url http://127.0.0.1:8399]
python -m devtools.testpki extend OUTDIR
python -m devtools.testpki reference-lists OUTDIR [--certs ../shared/reference/certs]
python -m devtools.testpki serve PKIDIR [--port 8399]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from devtools.testpki import trustlists
from devtools.testpki.build import build, extend
from devtools.testpki.loader import TestPKI

DEFAULT_BASE_URL = "http://127.0.0.1:8399"
DEFAULT_CERTS = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "certs"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.testpki")
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="issue the whole test PKI into OUTDIR")
    build_cmd.add_argument("outdir", type=Path)
    build_cmd.add_argument("--base-url", default=DEFAULT_BASE_URL, help="loopback URL of the revocation responder")
    extend_cmd = commands.add_parser("extend", help="add entities new to the plan to a built OUTDIR, keep the rest")
    extend_cmd.add_argument("outdir", type=Path)
    ref_cmd = commands.add_parser("reference-lists", help="sign sample trust lists of the real GBA roots")
    ref_cmd.add_argument("outdir", type=Path)
    ref_cmd.add_argument("--certs", type=Path, default=DEFAULT_CERTS)
    serve_cmd = commands.add_parser("serve", help="serve CRLs and OCSP for a built test PKI")
    serve_cmd.add_argument("pkidir", type=Path)
    serve_cmd.add_argument("--port", type=int, default=8399)
    args = parser.parse_args(argv)
    if args.command == "build":
        manifest = build(args.outdir, args.base_url)
        print(f"built {len(manifest['entities'])} certificates into {args.outdir}")  # type: ignore[arg-type]
    elif args.command == "extend":
        _, added = extend(args.outdir)
        print(f"added {', '.join(added) or 'nothing'} to {args.outdir}; trust lists re-signed")
    elif args.command == "reference-lists":
        signer = trustlists.sample_signer(args.outdir)
        trustlists.write_signed(
            trustlists.reference_lists(args.certs),
            dict.fromkeys(trustlists.REFERENCE_ROOTS, signer),
            args.outdir,
        )
        print(f"signed reference trust lists into {args.outdir}")
    else:
        asyncio.run(_serve(TestPKI(args.pkidir), args.port))


async def _serve(pki: TestPKI, port: int) -> None:
    from devtools.testpki.responder import RevocationResponder

    responder = RevocationResponder(pki)
    await responder.start(port=port)
    print(f"serving CRL and OCSP on {responder.base_url} (Ctrl-C stops)")
    try:
        await asyncio.Event().wait()
    finally:
        await responder.stop()


if __name__ == "__main__":
    main()
