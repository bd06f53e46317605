"""``tether token create --name N [--namespace NS] [--sa SA]``: a join token for one proxy.

The token entitles whoever holds it to certificates for
``spiffe://<trust domain>/ns/<NS>/sa/<SA>``; give it to a hand-started proxy through env
``TETHER_JOIN_TOKEN`` or ``--token-file``. Minting needs the admin credential.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tether.cli.control import parse_ttl
from tether.client.args import add_control_args, client_from_args
from tether.core.errors import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("token", help="join tokens for proxies")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    create = actions.add_parser("create", help="print a join token for one workload identity")
    create.add_argument("--name", required=True, help="workload name")
    create.add_argument("--namespace", default="default")
    create.add_argument("--sa", "--service-account", dest="sa", default="", help="service account (default: --name)")
    create.add_argument("--ttl", help="token lifetime (e.g. 1h); default: no expiry")
    create.add_argument("-o", "--output", choices=("token", "json"), default="token")
    add_control_args(create)
    create.set_defaults(func=create_token)
    parser.set_defaults(func=_usage(parser))


def _usage(parser: argparse.ArgumentParser) -> Any:
    def show(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return show


def create_token(args: argparse.Namespace) -> int:
    """Print a token minted by the control plane; return 0. Raises ApiError/ControlUnreachable."""
    client = client_from_args(args)
    if not client.token:
        raise UsageError("tether token create needs the admin credential: --token-file <data>/admin.token "
                         "(or env TETHER_TOKEN_FILE)")
    body: dict[str, Any] = {"name": args.name, "namespace": args.namespace, "service_account": args.sa or args.name}
    if args.ttl:
        body["ttl_seconds"] = parse_ttl(args.ttl)
    answer = client.request("POST", "/v1/tokens", body)
    if args.output == "json":
        import json

        print(json.dumps(answer))
    else:
        print(answer["token"])
    return 0
