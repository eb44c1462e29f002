"""Command line of ``devtools.deploycheck`` (see its package docstring)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devtools.deploycheck import check, render, schemas

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.deploycheck")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("check", help="render every overlay and check every object")
    run.add_argument("--kustomize", default=str(REPO / ".local/tools/bin/kustomize"))
    run.add_argument("--repo", type=Path, default=REPO, help="the tree to check (tests use copies)")
    write = commands.add_parser("render", help="write the manifests generated from the repository's declarations")
    write.add_argument("--repo", type=Path, default=REPO)
    vendor = commands.add_parser("vendor-crds", help="extract the JSON schemas of CRD files")
    vendor.add_argument("out", type=Path)
    vendor.add_argument("files", type=Path, nargs="+")
    vendor.add_argument("--kind", action="append", help="only these kinds (repeatable)")
    args = parser.parse_args(argv)

    if args.command == "render":
        for path in render.render(args.repo):
            print(f"wrote {path}")
        return 0
    if args.command == "vendor-crds":
        for path in schemas.vendor(args.files, args.out, set(args.kind) if args.kind else None):
            print(f"wrote {path}")
        return 0
    report = check.run(args.repo, args.kustomize)
    for note in report.notes:
        print(f"deploy-check: {note}")
    for problem in report.problems:
        print(f"deploy-check: FAIL {problem}", file=sys.stderr)
    if report.problems:
        print(f"deploy-check: {len(report.problems)} problems", file=sys.stderr)
        return 1
    print("deploy-check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
