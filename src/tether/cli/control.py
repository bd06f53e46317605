"""``tether control``: run the control plane (API, watch streams, store) on one port."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

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
    parser.add_argument("--log-level", default="INFO")
    parser.set_defaults(func=run_control)


def run_control(args: argparse.Namespace) -> int:
    """Run the control plane until SIGTERM/SIGINT; return 0 after a clean stop."""
    if args.store.startswith("etcd://"):
        raise UsageError(
            f"--store {args.store}: the etcd store is not supported yet; use --store sqlite"
        )
    if args.store != "sqlite":
        raise UsageError(f"--store must be sqlite or etcd://HOST:PORT, got {args.store!r}")
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
    uvloop.run(serve(data, args.bind, args.port, args.ports_file, args.heartbeat_interval))
    return 0
