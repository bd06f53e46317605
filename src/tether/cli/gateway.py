"""``tether gateway``: an ingress gateway (Istio ``Gateway`` + ``VirtualService`` with ``gateways:``).

A gateway is a proxy whose node has kind ``gateway``: the runtime routes by the snapshot's
``gateway_hosts`` instead of the mesh's virtual hosts, and the translation selects the
Gateways whose ``selector`` matches the node (``istio: <--name>`` is implied). Clients talk
to the gateway's listener on ``--port``; it is the outbound listener of the runtime, so
its requests are reported like Istio's gateway reports them (``reporter="source"``, the
gateway as ``source_workload``) and get the same access log and route policies as a
sidecar's outbound calls. A gateway fronts no app: its inbound listener is bound to an
ephemeral port and has nothing to deliver to.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from tether.cli.proxy import add_proxy_arguments, node_from_args, resolve_config_source, serve, settings_from_args
from tether.core.errors import UsageError

GATEWAY_KIND = "gateway"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("gateway", help="run an ingress gateway")
    add_proxy_arguments(parser, gateway=True)
    parser.add_argument("--port", type=int, default=8080, help="port clients connect to (0 = pick one)")
    parser.set_defaults(func=run_gateway)


def gateway_args(args: argparse.Namespace) -> argparse.Namespace:
    """Return a copy of ``args`` in the shape the proxy helpers read: the gateway port is the
    outbound listener, the inbound listener takes any free port, and there is no app port.

    Without ``--config`` the control plane is ``--control``, else env TETHER_CONTROL, else the
    default URL. Raises UsageError when ``--port`` is out of range.
    """
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port: expected 0..65535, got {args.port}")
    shaped = argparse.Namespace(**vars(args))
    resolve_config_source(shaped)
    shaped.outbound_port = args.port
    shaped.inbound_port = 0
    shaped.app_port = None
    return shaped


def run_gateway(args: argparse.Namespace) -> int:
    """Run the gateway until SIGTERM/SIGINT; return 0 after a clean drain.

    Raises UsageError on missing or bad flags.
    """
    shaped = gateway_args(args)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    node = node_from_args(shaped, kind=GATEWAY_KIND)
    return serve(node, settings_from_args(shaped), shaped)
