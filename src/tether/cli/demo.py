"""``tether demo``: the book's example system, locally, with one command."""

from __future__ import annotations

import argparse
from typing import Any

from tether.demo.runner import DemoOptions, run_demo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run the book's example system with a mesh")
    parser.add_argument("--port", type=int, default=8080, help="ingress gateway port (0 = pick one)")
    parser.add_argument("--control-port", type=int, default=15010, help="control plane and dashboard port")
    parser.add_argument("--data", help="data directory (default: a temporary one, removed at exit)")
    parser.add_argument("--poll-interval", type=int, default=30, help="seconds between shipping/invoicing polls")
    parser.add_argument("--load", action="store_true", help="run a gentle load generator")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--ports-file", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo until Ctrl-C; return its exit status."""
    options = DemoOptions(
        port=args.port,
        control_port=args.control_port,
        data=args.data,
        poll_interval=args.poll_interval,
        load=args.load,
        bind=args.bind,
        ports_file=args.ports_file,
    )
    return run_demo(options)
