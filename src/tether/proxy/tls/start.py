"""Wiring a sidecar's identity at start-up: find its join token, fetch its first certificate
before it asks for config, mint tokens for the processes ``tether run``/``tether demo`` start."""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Coroutine
from typing import Any

import msgspec

from tether.client.aio import Control
from tether.core.clock import Clock
from tether.core.errors import UsageError
from tether.core.identity import ProxyNode
from tether.core.tasks import TaskGroup
from tether.proxy.tls.identity import IdentityManager, identity_of_token
from tether.proxy.tls.mesh import MeshTls

log = logging.getLogger(__name__)

ENV_JOIN_TOKEN = "TETHER_JOIN_TOKEN"


def read_join_token(token_file: str | None) -> str | None:
    """Return the join token from ``token_file``, else env ``TETHER_JOIN_TOKEN``, else None.

    Raises UsageError when the named file cannot be read or is empty.
    """
    if token_file:
        try:
            with open(token_file, encoding="ascii") as f:
                token = f.read().strip()
        except OSError as exc:
            raise UsageError(f"--token-file {token_file}: {exc.strerror}") from None
        if not token:
            raise UsageError(f"--token-file {token_file} is empty; create a token with `tether token create`")
        return token
    return os.environ.get(ENV_JOIN_TOKEN, "").strip() or None


def node_for_token(node: ProxyNode, token: str) -> ProxyNode:
    """Return ``node`` in the token's trust domain; warns when the token names another workload identity.

    Raises InvalidToken/BadIdentity (TetherErrors) when the token is malformed.
    """
    ident = identity_of_token(token)
    if (ident.namespace, ident.service_account) != (node.namespace, node.sa):
        log.warning("the join token grants %s, but this proxy runs as namespace %s, service account %s: "
                    "peers expecting the latter will refuse its certificate", ident.uri, node.namespace, node.sa)
    return msgspec.structs.replace(node, trust_domain=ident.trust_domain)


def start_identity(group: TaskGroup, tls: MeshTls, control: Control, token: str, clock: Clock,
                   rng: random.Random) -> IdentityManager:
    """Start renewing certificates for ``token`` from ``control`` into ``tls``; return the manager
    (``ready`` is set once the first certificate is installed)."""
    manager = IdentityManager(control, token, tls.set_credentials, clock, rng)
    group.spawn("identity", manager.run())
    return manager


async def after_ready(manager: IdentityManager, then: Coroutine[Any, Any, None]) -> None:
    """Run ``then`` once ``manager`` has its first certificate (config that asks for mTLS is then usable)."""
    try:
        await manager.ready.wait()
    except asyncio.CancelledError:
        then.close()
        raise
    await then


def mint_join_token(control_url: str, admin_token: str | None, name: str, namespace: str,
                    service_account: str = "", ca_file: str | None = None) -> str:
    """Return a join token minted by the control plane (blocking; an https one verified with
    ``ca_file`` or the default CA file); raises ApiError/ControlUnreachable/UsageError."""
    from tether.client.http import ControlClient

    client = ControlClient(control_url, admin_token, ca_file=ca_file)
    answer = client.request("POST", "/v1/tokens",
                            {"name": name, "namespace": namespace, "service_account": service_account or name})
    return str(answer["token"])
