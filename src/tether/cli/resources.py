"""``tether apply`` / ``get`` / ``delete`` / ``describe``: manage resources, kubectl style."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from tether.cli.render import table, to_json, to_yaml
from tether.client.args import add_control_args, client_from_args
from tether.client.http import ApiError, ControlClient
from tether.client.types import StoredResource
from tether.control.api.kinds import info_for, resolve_kind
from tether.core.errors import TetherError, UsageError

SUFFIXES = (".yaml", ".yml", ".json")


def read_inputs(paths: list[str]) -> list[tuple[str, str]]:
    """Return ``(source, text)`` for every file ``-f`` names: files, directories, ``-``.

    Directories contribute their *.yaml, *.yml and *.json files in name order.
    Raises UsageError for a path that does not exist or cannot be read.
    """
    out: list[tuple[str, str]] = []
    for path in paths:
        if path == "-":
            out.append(("<stdin>", sys.stdin.read()))
            continue
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if n.endswith(SUFFIXES))
            files = [os.path.join(path, n) for n in names]
            if not files:
                raise UsageError(f"{path}: no *.yaml, *.yml or *.json files in this directory")
        else:
            files = [path]
        for name in files:
            try:
                with open(name, encoding="utf-8") as f:
                    out.append((name, f.read()))
            except FileNotFoundError:
                raise UsageError(f"{name}: no such file") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"{name}: cannot read: {exc}") from None
    return out


def validate_locally(files: list[tuple[str, str]]) -> tuple[list[str], int]:
    """Return one line per error in ``files`` and the number of valid resources."""
    from tether.control.model import ResourceErrors, parse_documents

    errors: list[str] = []
    count = 0
    for source, text in files:
        try:
            count += len(parse_documents(text, source).resources)
        except ResourceErrors as exc:
            errors.extend(str(e) for e in exc.errors)
    return errors, count


def register(subparsers: Any) -> None:
    apply = subparsers.add_parser("apply", help="create or update resources from YAML")
    apply.add_argument("-f", "--filename", action="append", required=True, metavar="FILE|DIR|-")
    apply.add_argument("--dry-run", action="store_true", help="validate and report, change nothing")
    add_control_args(apply)
    apply.set_defaults(func=run_apply)

    get = subparsers.add_parser("get", help="list resources or show one")
    get.add_argument("kind", metavar="KIND")
    get.add_argument("name", nargs="?", metavar="NAME")
    get.add_argument("-n", "--namespace", default="default")
    get.add_argument("-A", "--all-namespaces", action="store_true")
    get.add_argument("-o", "--output", choices=("yaml", "json", "wide"))
    add_control_args(get)
    get.set_defaults(func=run_get)

    delete = subparsers.add_parser("delete", help="delete resources (-f FILE or KIND NAME)")
    delete.add_argument("kind", nargs="?", metavar="KIND")
    delete.add_argument("names", nargs="*", metavar="NAME")
    delete.add_argument("-f", "--filename", action="append", metavar="FILE|DIR|-")
    delete.add_argument("-n", "--namespace", default="default")
    add_control_args(delete)
    delete.set_defaults(func=run_delete)

    describe = subparsers.add_parser("describe", help="show one resource in detail")
    describe.add_argument("kind", metavar="KIND")
    describe.add_argument("name", metavar="NAME")
    describe.add_argument("-n", "--namespace", default="default")
    add_control_args(describe)
    describe.set_defaults(func=run_describe)


def _admin_error(exc: ApiError) -> TetherError:
    if exc.status == 401:
        return UsageError(
            f"{exc.message}; pass --token-file <data dir>/admin.token or set TETHER_TOKEN_FILE"
        )
    return exc


def run_apply(args: argparse.Namespace) -> int:
    """Apply every document atomically; print one line per resource; 1 if refused."""
    files = read_inputs(args.filename)
    errors, count = validate_locally(files)
    if errors:
        for line in errors:
            print(f"error: {line}", file=sys.stderr)
        print("error: nothing was applied", file=sys.stderr)
        return 1
    if not count:
        print("error: no objects passed to apply", file=sys.stderr)
        return 1
    client = client_from_args(args)
    try:
        result = client.apply(files, dry_run=args.dry_run)
    except ApiError as exc:
        if exc.errors:
            for line in exc.errors:
                print(f"error: {line}", file=sys.stderr)
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        raise _admin_error(exc) from None
    suffix = " (dry run)" if args.dry_run else ""
    for item in result.results:
        outcome = item.outcome.replace(" (dry run)", "")
        print(f"{item.qualified}/{item.name} {outcome}{suffix}")
    for warning in result.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    for finding in result.findings:
        print(f"{finding.line()}", file=sys.stderr)
    return 0


def _hosts(body: dict[str, Any]) -> str:
    spec = body.get("spec") or {}
    hosts = spec.get("hosts") or ([spec["host"]] if spec.get("host") else [])
    return ",".join(str(h) for h in hosts) or "-"


def run_get(args: argparse.Namespace) -> int:
    """Print one resource or a list, as a table, YAML or JSON; 1 if it does not exist."""
    info = resolve_kind(args.kind)
    client = client_from_args(args)
    if args.name:
        try:
            items = [client.get_resource(info.kind, args.namespace, args.name)]
        except ApiError as exc:
            if exc.status == 404:
                print(
                    f'Error from server (NotFound): {info.plural}.{info.group} "{args.name}" '
                    f"not found in namespace {args.namespace}",
                    file=sys.stderr,
                )
                return 1
            raise
    else:
        namespace = None if args.all_namespaces else args.namespace
        items = client.list_resources(info.kind, namespace)
    if args.output == "yaml":
        print(to_yaml([o.body for o in items]), end="")
        return 0
    if args.output == "json":
        bodies = [o.body for o in items]
        print(to_json(bodies[0] if args.name else {"kind": "List", "items": bodies}))
        return 0
    if not items:
        where = "any namespace" if args.all_namespaces else f"{args.namespace} namespace"
        print(f"No resources found in {where}.", file=sys.stderr)
        return 0
    print(_table(items, args.all_namespaces, args.output == "wide"))
    return 0


def _table(items: list[StoredResource], namespaces: bool, wide: bool) -> str:
    headers = (["NAMESPACE"] if namespaces else []) + ["NAME", "HOSTS", "REVISION"]
    if wide:
        headers += ["API VERSION", "GATEWAYS"]
    rows = []
    for o in items:
        row = ([o.namespace] if namespaces else []) + [o.name, _hosts(o.body), o.revision]
        if wide:
            gateways = (o.body.get("spec") or {}).get("gateways") or []
            row += [o.body.get("apiVersion", "-"), ",".join(gateways) or "-"]
        rows.append(row)
    return table(headers, rows)


def run_delete(args: argparse.Namespace) -> int:
    """Delete by -f FILE or KIND NAME...; print one line each; 1 if any was not found."""
    client = client_from_args(args)
    try:
        if args.filename:
            if args.kind:
                raise UsageError("give either -f FILE or KIND NAME, not both")
            result = client.delete_files(read_inputs(args.filename))
        else:
            if not args.kind or not args.names:
                raise UsageError("delete needs -f FILE or KIND NAME [NAME...]")
            info = resolve_kind(args.kind)
            result = client.delete_keys([(info.kind, args.namespace, n) for n in args.names])
    except ApiError as exc:
        if exc.errors:
            for line in exc.errors:
                print(f"error: {line}", file=sys.stderr)
            return 1
        raise _admin_error(exc) from None
    status = 0
    for item in result.results:
        if item.outcome == "deleted":
            print(f'{item.qualified} "{item.name}" deleted')
        else:
            status = 1
            info = info_for(item.kind)
            print(
                f'Error from server (NotFound): {info.plural}.{info.group} "{item.name}" '
                f"not found in namespace {item.namespace}",
                file=sys.stderr,
            )
    return status


def run_describe(args: argparse.Namespace) -> int:
    """Print one resource with its revision and what analysis says about it; 1 if missing."""
    info = resolve_kind(args.kind)
    client = client_from_args(args)
    try:
        obj = client.get_resource(info.kind, args.namespace, args.name)
    except ApiError as exc:
        if exc.status == 404:
            print(f"Error from server (NotFound): {exc.message}", file=sys.stderr)
            return 1
        raise
    print(describe_text(client, obj))
    return 0


def describe_text(client: ControlClient, obj: StoredResource) -> str:
    """Return the ``describe`` page of ``obj``: header fields, spec as YAML, findings."""
    meta = obj.body.get("metadata") or {}
    lines = [
        f"Name:         {obj.name}",
        f"Namespace:    {obj.namespace}",
        f"Kind:         {obj.kind}",
        f"API Version:  {obj.body.get('apiVersion', '-')}",
        f"Revision:     {obj.revision}",
        f"Labels:       {_pairs(meta.get('labels'))}",
        f"Annotations:  {_pairs(meta.get('annotations'))}",
        "Spec:",
    ]
    spec_yaml = to_yaml([obj.body.get("spec") or {}]).rstrip("\n")
    lines += ["  " + line for line in spec_yaml.splitlines()]
    findings = [f for f in client.analyze().findings if tuple(f.resource) == obj.key]
    lines.append("Findings:" + ("     <none>" if not findings else ""))
    for f in findings:
        lines.append(f"  {f.code}  {f.path}: {f.message}")
        lines.append(f"         fix: {f.fix}")
    return "\n".join(lines)


def _pairs(mapping: Any) -> str:
    if not mapping:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(mapping.items()))
