"""``tether run --name SVC [--port P] -- CMD ...``: start CMD with a sidecar beside it.

The sidecar runs in this process; CMD runs as a child with ``PORT`` (where it must
listen) and ``HTTP_PROXY``/``http_proxy`` (the sidecar's outbound listener) in its
environment, so its calls to other services go through the mesh without code changes.
CMD starts only once the sidecar has its config, so it never sees a proxy that cannot
route yet. When CMD exits, the sidecar drains and ``tether run`` exits with CMD's status;
on SIGTERM/SIGINT, CMD gets SIGTERM first, then the sidecar drains.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
from typing import Any

from tether.cli.proxy import (
    add_proxy_arguments,
    node_from_args,
    resolve_config_source,
    running_sidecar,
    settings_from_args,
    write_ports_file,
)
from tether.client.settings import load_token
from tether.core.errors import TetherError, UsageError
from tether.proxy.runtime import ProxyRuntime
from tether.proxy.tls.start import ENV_JOIN_TOKEN, mint_join_token

log = logging.getLogger("tether.run")
APP_STOP_GRACE_S = 10.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="start a command with a sidecar")
    add_proxy_arguments(parser)
    parser.add_argument("--port", type=int, default=0, help="port the app listens on (0 = pick a free one)")
    parser.add_argument("--inbound-port", type=int, default=0)
    parser.add_argument("--outbound-port", type=int, default=0)
    parser.add_argument("--ready-timeout", type=float, default=30.0, help="seconds to wait for the first config")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARG...]")
    parser.set_defaults(func=run_command, admin_port=0)


def free_port(bind: str) -> int:
    """Return a TCP port that is free on ``bind`` right now."""
    with socket.socket() as sock:
        sock.bind((bind, 0))
        return int(sock.getsockname()[1])


def app_environment(app_port: int, outbound_port: int, bind: str) -> dict[str, str]:
    """Return the environment CMD runs with: this one plus PORT and the proxy variables."""
    proxy = f"http://{bind}:{outbound_port}"
    env = dict(os.environ)
    env.update({"PORT": str(app_port), "HTTP_PROXY": proxy, "http_proxy": proxy})
    for name in ("NO_PROXY", "no_proxy", ENV_JOIN_TOKEN):  # the join token is the sidecar's, not the app's
        env.pop(name, None)
    return env


def run_command(args: argparse.Namespace) -> int:
    """Run CMD beside a sidecar; return CMD's exit status."""
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise UsageError("tether run needs a command after --, e.g. tether run --name order -- python app.py")
    resolve_config_source(args)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    args.app_port = args.port or free_port(args.bind)
    import uvloop

    return uvloop.run(_run(args, cmd))


async def _run(args: argparse.Namespace, cmd: list[str]) -> int:
    node = node_from_args(args)
    if args.control and not args.token_file and not os.environ.get(ENV_JOIN_TOKEN):
        admin = load_token(None)  # env TETHER_TOKEN_FILE or ./.tether/admin.token
        if admin is not None:  # the operator may mint: give this sidecar its own identity
            try:
                os.environ[ENV_JOIN_TOKEN] = await asyncio.to_thread(
                    mint_join_token, args.control, admin, node.name, node.namespace, node.service_account,
                    args.ca_file)
            except TetherError as exc:
                log.warning("could not mint a join token (%s); the sidecar runs without mTLS", exc)
    async with running_sidecar(node, settings_from_args(args), args) as (runtime, ports):
        ready = asyncio.get_running_loop().create_task(_wait_ready(runtime), name="run/ready")
        stopped = asyncio.get_running_loop().create_task(runtime.stopped.wait(), name="run/stopped")
        await asyncio.wait({ready, stopped}, timeout=args.ready_timeout, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            stopped.cancel()
            if runtime.stopped.is_set():
                return 130
            raise UsageError(f"the sidecar got no config within {args.ready_timeout:.0f}s (is --control reachable?)")
        env = app_environment(args.app_port, ports["outbound"], args.bind)
        try:
            app = await asyncio.create_subprocess_exec(*cmd, env=env, stdin=subprocess.DEVNULL)
        except OSError as exc:
            stopped.cancel()
            raise UsageError(f"cannot start {cmd[0]!r}: {exc}") from exc
        write_ports_file({**ports, "app": args.app_port, "app_pid": app.pid}, args.ports_file)
        exited = asyncio.get_running_loop().create_task(app.wait(), name="run/app")
        await asyncio.wait({exited, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not exited.done():
            await _stop_app(app)
        stopped.cancel()
        code = exited.result() if exited.done() else await app.wait()
        log.info("app exited with %s; sidecar draining", code)
        runtime.request_stop()
    return code if code >= 0 else 128 - code


async def _wait_ready(runtime: ProxyRuntime) -> None:
    while runtime.table is None:  # noqa: ASYNC110 - a first snapshot has no event of its own
        await asyncio.sleep(0.05)


async def _stop_app(app: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        app.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(app.wait(), APP_STOP_GRACE_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            app.kill()
