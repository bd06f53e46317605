"""``tether control``: run the control plane (API, watch streams, store) on one port."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from typing import Any

from tether.control.ca.service import CaOptions
from tether.core.errors import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("control", help="run the control plane")
    parser.add_argument("--port", type=int, default=15010, help="API port (0 picks a free one)")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--data", default=".tether", help="data directory (store, admin token)")
    parser.add_argument("--store", default="sqlite", help="sqlite (default) or etcd://HOST:PORT,...")
    parser.add_argument("--ports-file", help='write {"port": P, "pid": N} here once listening')
    parser.add_argument(
        "--heartbeat-interval",
        type=float,
        default=5.0,
        help="seconds between stream keep-alives; a silent proxy is dropped after 3",
    )
    parser.add_argument("--trust-domain", default="cluster.local", help="SPIFFE trust domain of the mesh")
    parser.add_argument("--cert-ttl", default="24h", help="lifetime of workload certificates (e.g. 24h, 30m, 6s)")
    parser.add_argument("--ca-cert", help="CA certificate (root, or intermediate + chain) instead of <data>/ca")
    parser.add_argument("--ca-key", help="key of --ca-cert")
    parser.add_argument("--ca-trust", action="append", default=[], metavar="PEM",
                        help="another root to trust (root rotation overlap); repeatable")
    parser.add_argument("--tls", action="store_true",
                        help="serve the API over HTTPS with a certificate from the mesh CA (needed off loopback)")
    parser.add_argument("--log-level", default="INFO")
    parser.set_defaults(func=run_control)


def check_exposure(bind: str, tls: bool) -> None:
    """Raise UsageError when the API would listen beyond loopback in plaintext."""
    try:
        loopback = ipaddress.ip_address(bind).is_loopback
    except ValueError:
        loopback = bind == "localhost"
    if not loopback and not tls:
        raise UsageError(f"--bind {bind}: the control API (join tokens, certificates, the admin credential) "
                         "would travel in plaintext beyond this machine; add --tls")


def parse_ttl(text: str) -> float:
    """Return seconds from ``90``, ``90s``, ``30m``, ``24h``; raises UsageError."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        raise UsageError(f"--cert-ttl: expected a duration like 24h, 30m or 6s, got {text!r}") from None
    if seconds < 1:
        raise UsageError("--cert-ttl must be at least 1s")
    return seconds


def ca_options(args: argparse.Namespace) -> CaOptions:
    """Return the CA settings the flags describe; raises UsageError."""
    if bool(args.ca_cert) != bool(args.ca_key):
        raise UsageError("--ca-cert and --ca-key go together")
    return CaOptions(trust_domain=args.trust_domain, cert_ttl_s=parse_ttl(args.cert_ttl), ca_cert=args.ca_cert,
                     ca_key=args.ca_key, extra_roots=tuple(args.ca_trust))


def run_control(args: argparse.Namespace) -> int:
    """Run the control plane until SIGTERM/SIGINT; return 0 after a clean stop."""
    if args.store.startswith("etcd://"):
        raise UsageError(
            f"--store {args.store}: the etcd store is not supported yet; use --store sqlite"
        )
    if args.store != "sqlite":
        raise UsageError(f"--store must be sqlite or etcd://HOST:PORT, got {args.store!r}")
    check_exposure(args.bind, args.tls)
    if args.heartbeat_interval <= 0:
        raise UsageError("--heartbeat-interval must be positive")
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    import uvloop

    from tether.control.server import serve

    data = os.path.abspath(args.data)
    uvloop.run(serve(data, args.bind, args.port, args.ports_file, args.heartbeat_interval, ca_options(args),
                      args.tls))
    return 0
