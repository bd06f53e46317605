"""``tether proxy``: run a sidecar (static config file or control plane)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

from tether.client.aio import Control, control_endpoint
from tether.client.args import add_ca_file_arg
from tether.client.settings import control_url, token_file_path
from tether.core.clock import SYSTEM_CLOCK
from tether.core.errors import ConfigRejected, UsageError
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Snapshot
from tether.core.tasks import TaskGroup
from tether.proxy.filters.jwt import report_unknown_keys
from tether.proxy.listener import ListenerSettings
from tether.proxy.runtime import ProxyRuntime, ProxySettings
from tether.proxy.static_loader import load_isolated
from tether.proxy.telemetry.start import start_telemetry, telemetry_options
from tether.proxy.tls.start import after_ready, node_for_token, read_join_token, start_identity

log = logging.getLogger("tether.proxy")
FINAL_PUSH_TIMEOUT_S = 1.0


def parse_labels(text: str) -> dict[str, str]:
    """Return ``{"k": "v"}`` from ``k=v,k2=v2``; raises UsageError on a malformed pair."""
    labels: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--labels: expected k=v, got {pair!r}")
        labels[key] = value
    return labels


def add_proxy_arguments(parser: argparse.ArgumentParser, *, gateway: bool = False) -> None:
    """Add the flags shared by ``tether proxy`` and ``tether gateway``."""
    parser.add_argument("--name", required=not gateway, default="ingressgateway" if gateway else None)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--service-account", default="")
    parser.add_argument("--labels", default="", help="k=v,... e.g. version=v2")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--admin-port", type=int, default=15000)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", help="static mode: YAML resources file")
    source.add_argument("--control", help="control plane URL, http:// or https://")
    parser.add_argument("--token-file", help="join token file (with --control; else env TETHER_JOIN_TOKEN)")
    add_ca_file_arg(parser)
    parser.add_argument("--access-log", default="-", help="file for the JSON access log (- = stdout)")
    parser.add_argument("--drain-timeout", type=float, default=5.0)
    parser.add_argument("--header-timeout", type=float, default=10.0)
    parser.add_argument("--ports-file", help="write the bound ports as JSON here")
    parser.add_argument("--trace-sampling", type=float, default=1.0, help="percent of new traces sampled")
    parser.add_argument("--trace-otlp", metavar="URL", help="OTLP/HTTP JSON collector (path /v1/traces)")
    parser.add_argument("--trace-zipkin", metavar="URL", help="Zipkin v2 collector (path /api/v2/spans)")
    parser.add_argument("--telemetry-interval", type=float, default=2.0, help="seconds between pushes to --control")
    parser.add_argument("--log-level", default="INFO")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("proxy", help="run a sidecar proxy")
    add_proxy_arguments(parser)
    parser.add_argument("--app-port", type=int)
    parser.add_argument("--inbound-port", type=int, default=15006)
    parser.add_argument("--outbound-port", type=int, default=15001)
    parser.set_defaults(func=run_proxy)


def node_from_args(args: argparse.Namespace, kind: str = "sidecar") -> ProxyNode:
    """Return the ProxyNode the flags describe."""
    return ProxyNode(
        name=args.name,
        namespace=args.namespace,
        service_account=args.service_account,
        labels=parse_labels(args.labels),
        kind=kind,
    )


def settings_from_args(args: argparse.Namespace) -> ProxySettings:
    """Return the ProxySettings the flags describe."""
    return ProxySettings(
        bind=args.bind,
        outbound_port=getattr(args, "outbound_port", 0),
        inbound_port=getattr(args, "inbound_port", 0),
        admin_port=args.admin_port,
        app_port=getattr(args, "app_port", None),
        access_log=args.access_log,
        drain_timeout=args.drain_timeout,
        trace_sample_rate=args.trace_sampling / 100.0,
        listener=ListenerSettings(header_timeout=args.header_timeout),
    )


def resolve_config_source(args: argparse.Namespace) -> None:
    """Without ``--config``, take the control plane from ``--control``, else env TETHER_CONTROL,
    else the default URL (DESIGN §3)."""
    if not args.config:
        args.control = control_url(args.control)


def run_proxy(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT; return 0 after a clean drain."""
    resolve_config_source(args)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    node = node_from_args(args)
    return serve(node, settings_from_args(args), args)


def serve(node: ProxyNode, settings: ProxySettings, args: argparse.Namespace) -> int:
    """Run a ProxyRuntime for ``node`` on uvloop until asked to stop; return the exit status."""
    import uvloop

    return uvloop.run(_serve(node, settings, args))


def _load_static(path: str, node: ProxyNode) -> Snapshot:
    return load_isolated(path, node)


def proxy_control(args: argparse.Namespace, join_token: str | None) -> Control:
    """Return the control plane endpoint of ``--control``, presenting ``join_token`` on every call; an
    https one is verified with --ca-file, TETHER_CA_FILE, or ``ca/root-cert.pem`` beside the join
    token file or the admin token file. Raises UsageError for a bad URL or CA file."""
    return control_endpoint(args.control, ca_file=getattr(args, "ca_file", None), token=join_token,
                            token_files=(args.token_file, token_file_path(None)))


@contextlib.asynccontextmanager
async def running_sidecar(
    node: ProxyNode, settings: ProxySettings, args: argparse.Namespace
) -> AsyncIterator[tuple[ProxyRuntime, dict[str, int]]]:
    """Start a ProxyRuntime with its config source (file or control plane) and signal handlers;
    yield it with its bound ports; on exit drain it. Raises UsageError for a bad static file."""
    telemetry = telemetry_options(args)  # a bad collector URL is a usage error before anything starts
    join_token = read_join_token(args.token_file) if args.control else None
    control = proxy_control(args, join_token) if args.control else None
    if join_token is not None:
        node = node_for_token(node, join_token)
    runtime = ProxyRuntime(node, settings, SYSTEM_CLOCK, random.Random())
    if args.config:
        try:
            runtime.apply_snapshot(_load_static(args.config, node))
        except ConfigRejected as exc:
            raise UsageError(exc.reason) from exc
    ports = await runtime.start()
    background = TaskGroup("proxy-main")
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, runtime.request_stop)
    loop.add_signal_handler(signal.SIGINT, runtime.request_stop)
    if args.config:
        loop.add_signal_handler(signal.SIGHUP, lambda: _reload(runtime, args.config, node))
    if control is not None:
        from tether.proxy.watch import run_watch

        inbound = f"{settings.bind}:{ports['inbound']}"
        watch = run_watch(
            control, node, runtime, inbound_address=inbound, clock=SYSTEM_CLOCK, rng=random.Random()
        )
        if join_token is not None:  # certificate first, then config (which may ask for mTLS)
            identity = start_identity(background, runtime.tls, control, join_token, SYSTEM_CLOCK, random.Random())
            watch = after_ready(identity, watch)
        else:
            log.warning("no join token (TETHER_JOIN_TOKEN or --token-file): no workload certificate, no mTLS")
        background.spawn("watch", watch)
        report_unknown_keys(runtime.filters, control, background)
    telemetry_tasks = start_telemetry(background, runtime.telemetry, node, telemetry)
    if telemetry_tasks.reporter is not None and control is not None:
        telemetry_tasks.reporter.control = control  # before its first push (it sleeps an interval first)
    try:
        yield runtime, ports
    finally:
        log.info("draining (up to %.1fs)", settings.drain_timeout)
        await background.close()
        await runtime.drain()
        if telemetry_tasks.reporter is not None:  # what the last interval saw is not lost
            with contextlib.suppress(Exception):
                await asyncio.wait_for(telemetry_tasks.reporter.push_once(), FINAL_PUSH_TIMEOUT_S)


async def _serve(node: ProxyNode, settings: ProxySettings, args: argparse.Namespace) -> int:
    async with running_sidecar(node, settings, args) as (runtime, ports):
        write_ports_file(ports, args.ports_file)
        await runtime.stopped.wait()
    return 0


def _reload(runtime: ProxyRuntime, path: str, node: ProxyNode) -> None:
    try:
        runtime.apply_snapshot(_load_static(path, node))
    except Exception as exc:
        log.error("reload of %s refused, keeping the last good config: %s", path, exc)


def write_ports_file(ports: dict[str, int], ports_file: str | None) -> None:
    """Log the bound ports and, with ``ports_file``, write them there as JSON (atomically)."""
    log.info("tether proxy listening %s", " ".join(f"{k}={v}" for k, v in ports.items()))
    if ports_file:
        tmp = f"{ports_file}.tmp"
        with open(tmp, "w") as fh:
            json.dump({**ports, "pid": os.getpid()}, fh)
        os.replace(tmp, ports_file)
