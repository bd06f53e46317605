"""``tether proxy-status`` and ``tether check``: is the mesh's configuration where it should be."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import msgspec

from tether.cli.render import age, short, table, to_json
from tether.client.args import add_control_args, client_from_args
from tether.client.http import ControlClient
from tether.client.types import Health, ProxyList
from tether.core.errors import TetherError

MAX_SKEW_SECONDS = 5.0
PASS = "\u221a"  # √ as Linkerd prints it
FAIL = "\u00d7"  # multiplication sign, as Linkerd prints it


def register(subparsers: Any) -> None:
    status = subparsers.add_parser("proxy-status", help="sync status of every proxy")
    status.add_argument("-o", "--output", choices=("json",))
    add_control_args(status)
    status.set_defaults(func=run_proxy_status)

    check = subparsers.add_parser("check", help="health of the control plane and the proxies")
    check.add_argument("-o", "--output", choices=("json",))
    add_control_args(check)
    check.set_defaults(func=run_check)


def proxy_rows(proxies: ProxyList) -> list[list[str]]:
    """Return the proxy-status table rows (times relative to the control plane's clock)."""
    rows = []
    for p in proxies.proxies:
        ack_age = None if p.acked_at is None else proxies.time - p.acked_at
        nack = "-"
        if p.last_nack is not None:
            nack = short(f"{p.last_nack.version}: {p.last_nack.reason}", 70)
        version = p.acked_version or p.sent_version or "-"
        rows.append([p.node.name, p.node.namespace, p.status, version, age(ack_age), nack])
    return rows


def run_proxy_status(args: argparse.Namespace) -> int:
    """Print one line per proxy: NAME NAMESPACE STATUS VERSION LAST-ACK-AGE LAST-NACK."""
    proxies = client_from_args(args).proxies()
    if args.output == "json":
        print(to_json(msgspec.to_builtins(proxies)))
        return 0
    headers = ["NAME", "NAMESPACE", "STATUS", "VERSION", "LAST-ACK-AGE", "LAST-NACK"]
    if not proxies.proxies:
        print("No proxies are registered with the control plane.")
        return 0
    print(table(headers, proxy_rows(proxies)))
    return 0


class CheckResult(msgspec.Struct, frozen=True):
    """One line of ``tether check``: what was checked, whether it passed, why not, what to do."""

    name: str
    ok: bool
    detail: str = ""
    hint: str = ""


def checks(client: ControlClient, now: Callable[[], float] = time.time) -> list[CheckResult]:
    """Run every check in order; stop after the first one the others depend on fails."""
    out: list[CheckResult] = []
    before = now()
    try:
        health: Health = client.health()
    except TetherError as exc:
        out.append(CheckResult(
            "control plane is reachable", False, str(exc),
            f"start it with `tether control`, or point --control at it (tried {client.url})",
        ))
        return out
    after = now()
    out.append(CheckResult("control plane is reachable", True, client.url))
    out.append(CheckResult(
        "store is healthy", health.store == "ok", f"store reports {health.store!r}",
        "check the disk and permissions of the control plane's --data directory",
    ))
    skew = health.time - (before + after) / 2
    out.append(CheckResult(
        "clock skew is sane", abs(skew) <= MAX_SKEW_SECONDS,
        f"control plane clock differs by {skew:+.1f}s",
        "synchronise clocks (NTP); certificates and ages depend on them",
    ))
    proxies = client.proxies()
    unsynced = [p for p in proxies.proxies if p.status != "SYNCED"]
    detail = ", ".join(
        f"{p.node.namespace}/{p.node.name} {p.status}"
        + (f" (NACK: {p.last_nack.reason})" if p.last_nack else "")
        for p in unsynced
    )
    out.append(CheckResult(
        f"all proxies are synced ({len(proxies.proxies) - len(unsynced)}/{len(proxies.proxies)})",
        not unsynced, detail, "run `tether proxy-status`; a NACK names what the proxy refused",
    ))
    return out


def run_check(args: argparse.Namespace) -> int:
    """Print PASS/FAIL marks per check with a hint per failure; return 1 if any failed."""
    results = checks(client_from_args(args, timeout=5.0))
    failed = any(not r.ok for r in results)
    if args.output == "json":
        print(to_json({"ok": not failed, "checks": msgspec.to_builtins(results)}))
        return 1 if failed else 0
    for r in results:
        if r.ok:
            print(f"{PASS} {r.name}")
        else:
            print(f"{FAIL} {r.name}")
            if r.detail:
                print(f"    {r.detail}")
            print(f"    hint: {r.hint}")
    print()
    print(f"Status check results are {FAIL if failed else PASS}")
    return 1 if failed else 0
