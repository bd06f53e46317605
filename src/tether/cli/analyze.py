"""``tether analyze``: cross-reference checks, ``istioctl analyze`` style."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from tether.cli.render import to_json
from tether.cli.resources import read_inputs, validate_locally
from tether.client.args import add_control_args, client_from_args
from tether.client.types import FindingView


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("analyze", help="find broken references in the configuration")
    parser.add_argument("-f", "--filename", action="append", metavar="FILE|DIR|-")
    parser.add_argument(
        "--offline", action="store_true", help="analyze only the files, without the control plane"
    )
    parser.add_argument("-o", "--output", choices=("json",))
    add_control_args(parser)
    parser.set_defaults(func=run_analyze)


def offline_findings(files: list[tuple[str, str]]) -> list[FindingView]:
    """Return the findings of ``files`` alone (no workloads, no live resources)."""
    from tether.control.analyze import analyze
    from tether.control.model import parse_documents
    from tether.control.world import World

    resources = [r for s, t in files for r in parse_documents(t, s).resources]
    world = World(resources=tuple(resources), workloads=())
    return [msgspec.convert(msgspec.to_builtins(f), FindingView) for f in analyze(world)]


def run_analyze(args: argparse.Namespace) -> int:
    """Print each finding with its fix; return 1 when the input does not parse, else 0."""
    files = read_inputs(args.filename) if args.filename else []
    errors, _ = validate_locally(files)
    if errors:
        for line in errors:
            print(f"Error: {line}", file=sys.stderr)
        return 1
    if args.offline:
        if not files:
            print("error: --offline needs -f FILE", file=sys.stderr)
            return 2
        findings = offline_findings(files)
        scope = "the given files (offline: registered workloads unknown)"
    else:
        result = client_from_args(args).analyze(files or None)
        findings = list(result.findings)
        scope = "the live configuration" + (" with the given files merged" if files else "")
    if args.output == "json":
        print(to_json({"findings": msgspec.to_builtins(findings)}))
        return 0
    if not findings:
        print(f"√ No validation issues found when analyzing {scope}.")
        return 0
    for f in findings:
        print(f.line())
        print(f"    at {f.path}; fix: {f.fix}")
    return 0
