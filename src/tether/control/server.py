"""``tether control``: the store, the registry and the push hub behind one HTTP port.

``ControlPlane`` owns the state; ``tether.control.api.routes`` maps HTTP requests onto
it. Resources are kept parsed in memory (a mirror of the store, loaded at start) so a
recomputation never re-reads SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import ssl
from collections.abc import Sequence
from typing import Any

from tether.control.api.http import Handler, HttpServer
from tether.control.ca import api as _ca_api  # noqa: F401  registers /v1/ca/* and /v1/tokens
from tether.control.ca.service import CaOptions, MeshCA
from tether.control.jwks import JwksCache  # also registers POST /v1/jwks/refresh
from tether.control.model import Resource, ResourceErrors, parse_documents, resource_to_dict
from tether.control.push.hub import PushHub
from tether.control.registry import Registry
from tether.control.store import ChangeSet, Key, Store
from tether.control.telemetry import TelemetryStore  # also registers the /v1/telemetry routes
from tether.control.translate import translate
from tether.control.translate.security import jwks_uris
from tether.control.world import Workload, World
from tether.core.clock import SYSTEM_CLOCK, Clock
from tether.core.errors import TetherError
from tether.core.schema.snapshot import Snapshot
from tether.core.tasks import TaskGroup

log = logging.getLogger(__name__)

TOKEN_FILE = "admin.token"


def ensure_admin_token(data_dir: str) -> str:
    """Return the admin token in ``<data_dir>/admin.token``, creating it (mode 0600) if absent."""
    path = os.path.join(data_dir, TOKEN_FILE)
    os.makedirs(data_dir, exist_ok=True)
    try:
        with open(path, encoding="ascii") as f:
            token = f.read().strip()
        if token:
            return token
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)
    return token


def resource_from_body(body: dict[str, Any], source: str) -> Resource:
    """Return the Resource a stored body describes; raises ResourceErrors if it no longer parses."""
    result = parse_documents(json.dumps(body), source)
    if len(result.resources) != 1:
        raise TetherError(f"{source}: stored body is not exactly one resource")
    return result.resources[0]


def body_of(resource: Resource) -> dict[str, Any]:
    """Return the mapping stored for ``resource`` (the user's shape, namespace made explicit)."""
    body: dict[str, Any] = resource_to_dict(resource)
    meta = dict(body.get("metadata") or {})
    meta["namespace"] = resource.namespace
    body["metadata"] = meta
    return body


class ControlPlane:
    """The control plane's state and the operations the API offers on it."""

    def __init__(
        self,
        store: Store,
        token: str,
        *,
        clock: Clock = SYSTEM_CLOCK,
        heartbeat_interval: float = 5.0,
        warmup: float | None = None,
    ) -> None:
        self.store = store
        self.token = token
        self.clock = clock
        self.heartbeat_interval = heartbeat_interval
        self.registry = Registry(clock, heartbeat_interval)
        self.resources: dict[Key, Resource] = {}
        for obj in store.list():
            try:
                source = f"store {obj.kind}/{obj.namespace}/{obj.name}"
                self.resources[obj.key] = resource_from_body(obj.body, source)
            except (ResourceErrors, TetherError) as exc:
                log.error("skipping a stored resource that no longer parses: %s", exc)
        # Keys fetched for RequestAuthentication jwksUris go into the snapshots (proxies never fetch).
        self.jwks = JwksCache(clock)
        self.hub = PushHub(
            self.registry,
            self.world,
            lambda world, node: self.secure(translate(world, node, self.jwks.get)),
            keepalive=max(0.05, heartbeat_interval / 2),
            warmup=heartbeat_interval if warmup is None else warmup,
        )
        self._world_cache: tuple[tuple[int, int], World] | None = None
        # The mesh CA (control/ca/): signs workload certificates; None runs without mTLS.
        self.ca: MeshCA | None = None
        self.tls: ssl.SSLContext | None = None  # HTTPS for the API (--tls), with a certificate from the CA
        self.telemetry = TelemetryStore(clock)
        self._tasks = TaskGroup("control")
        self.http: HttpServer | None = None
        # Serves every path the API does not (the dashboard's pages); set before start().
        self.fallback: Handler | None = None

    def secure(self, snapshot: Snapshot) -> Snapshot:
        """Return ``snapshot`` with the CA's trust bundle (unchanged without a CA)."""
        return self.ca.secure(snapshot) if self.ca is not None else snapshot

    def world(self) -> World:
        """Return the current world (resources + registered workloads), rebuilt only on change."""
        stamp = (self.store.revision, self.registry.generation)
        if self._world_cache is None or self._world_cache[0] != stamp:
            resources = tuple(self.resources[k] for k in sorted(self.resources))
            workloads = tuple(
                Workload(node=r.node, address=r.address, port=r.port)
                for r in self.registry.records()
            )
            self._world_cache = (stamp, World(resources=resources, workloads=workloads))
        return self._world_cache[1]

    def apply(self, resources: Sequence[Resource]) -> ChangeSet:
        """Store ``resources`` atomically, update the mirror and schedule pushes."""
        result = self.store.apply([(r.key, body_of(r)) for r in resources])
        for r in resources:
            self.resources[r.key] = r
        if result.changed:
            self.hub.changed()
        return result

    def delete(self, keys: Sequence[Key]) -> ChangeSet:
        """Delete ``keys`` atomically, update the mirror and schedule pushes."""
        result = self.store.delete(keys)
        for key in keys:
            self.resources.pop(key, None)
        if result.changed:
            self.hub.changed()
        return result

    def register(self, *args: Any) -> str:
        """Register a proxy (see Registry.register) and schedule pushes; return its id."""
        proxy_id = self.registry.register(*args)
        self.hub.changed()
        return proxy_id

    async def start(self, host: str, port: int) -> int:
        """Serve the API on ``host:port`` and start background work; return the bound port."""
        from tether.control.api.routes import make_handler

        self.hub.start()
        self._tasks.spawn("expire", self._expire_loop())
        self._tasks.spawn("jwks", self.jwks.run(lambda: jwks_uris(self.world()), self.hub.changed))
        self.http = HttpServer(make_handler(self), tls=self.tls)
        return await self.http.start(host, port)

    async def close(self) -> None:
        """Stop serving, end every stream and background task, close the store."""
        if self.http is not None:
            await self.http.close()
        await self.hub.close()
        await self._tasks.close()
        self.store.close()

    async def _expire_loop(self) -> None:
        tick = self.heartbeat_interval / 10
        while True:
            await asyncio.sleep(tick)
            gone = self.registry.expire(slack=tick)
            if gone:
                log.info("removed %d silent proxies: %s", len(gone), ", ".join(gone))
                self.hub.changed()


def _wildcard_note(host: str) -> str:
    # The certificate names the bind address, localhost, 127.0.0.1 and the host name: on a
    # wildcard bind the host's other addresses are not on it, so remote clients use its name.
    if host in ("", "0.0.0.0", "::"):
        return (f"; remote clients reach it as https://{socket.gethostname()}:PORT (its IP addresses "
                "are not on its certificate)")
    return ""


def write_ports_file(path: str, port: int) -> None:
    """Write ``{"port": P, "pid": N}`` to ``path`` atomically (write a temp file, rename)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"port": port, "pid": os.getpid()}, f)
    os.replace(tmp, path)


async def serve(
    data_dir: str, host: str, port: int, ports_file: str | None, heartbeat_interval: float,
    ca: CaOptions | None = None, tls: bool = False,
) -> None:
    """Run the control plane until SIGTERM/SIGINT; raises StoreError if the store cannot open,
    CaError when the CA's files are unusable.

    ``data_dir`` should be absolute (it is logged as given).
    """
    store = Store.in_dir(data_dir)
    token = ensure_admin_token(data_dir)
    plane = ControlPlane(store, token, heartbeat_interval=heartbeat_interval)
    plane.ca = MeshCA.in_dir(data_dir, ca or CaOptions(), SYSTEM_CLOCK)
    if tls:
        plane.tls = plane.ca.control_context(host)
    from tether.dashboard import make_dashboard

    plane.fallback = make_dashboard(plane)  # the dashboard shares the API's port
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        bound = await plane.start(host, port)
        if ports_file:
            write_ports_file(ports_file, bound)
        log.warning(
            "tether control listening on %s://%s:%d (data %s, revision %d)",
            "https" if tls else "http", host, bound, data_dir, store.revision,
        )
        if tls:
            log.warning("clients verify it with --ca-file %s (or TETHER_CA_FILE)%s",
                        os.path.join(data_dir, "ca", "root-cert.pem"), _wildcard_note(host))
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await plane.close()
