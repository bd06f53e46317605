"""A sidecar's mTLS state: its credentials, its two TLS contexts, what its snapshot asks.

``MeshTls`` is plain state with no task of its own: the identity manager hands it new
credentials (rotation), the runtime hands it each snapshot (trust bundle, PeerAuthentication,
which upstreams use mTLS). New connections pick up the new contexts; connections already
open keep theirs, so a rotation drops nothing.
"""

from __future__ import annotations

import logging
import ssl

from tether.core.schema.snapshot import Snapshot
from tether.core.schema.tls import PERMISSIVE
from tether.proxy.tls.contexts import Credentials, client_context, server_context
from tether.proxy.tls.inbound import InboundPolicy
from tether.proxy.tls.outbound import UpstreamIdentity, tls_plan

log = logging.getLogger(__name__)


class MeshTls:
    """Credentials, contexts, the inbound policy and the upstream identities of one proxy."""

    def __init__(self, app_port: int | None = None) -> None:
        self.app_port = app_port
        self.credentials: Credentials | None = None
        self.client: ssl.SSLContext | None = None
        self.inbound = InboundPolicy()
        self.snapshot_bundle: tuple[str, ...] = ()
        self.rotations = 0
        self._upstreams: dict[str, UpstreamIdentity] = {}
        self.plan: dict[tuple[str, int], str] = {}

    @property
    def trust_domain(self) -> str | None:
        """Return our trust domain (from our certificate), or None without one."""
        return self.credentials.identity.trust_domain if self.credentials is not None else None

    def set_credentials(self, creds: Credentials) -> None:
        """Use ``creds`` for every new connection from now on; raises ssl.SSLError if unusable."""
        if self.snapshot_bundle:
            creds = creds.with_bundle(self.snapshot_bundle)
        self._install(creds)
        self.rotations += 1

    def _install(self, creds: Credentials) -> None:
        server, client = server_context(creds), client_context(creds)
        self.credentials, self.client = creds, client
        self.inbound.context = server
        self.inbound.trust_domain = creds.identity.trust_domain

    def apply(self, snapshot: Snapshot) -> None:
        """Take the snapshot's trust bundle and PeerAuthentication for new connections."""
        inbound = snapshot.inbound_tls
        self.inbound.mode = inbound.mode_for(self.app_port) if inbound is not None else PERMISSIVE
        bundle = snapshot.trust_bundle
        if bundle and bundle != self.snapshot_bundle:
            self.snapshot_bundle = bundle
            if self.credentials is not None:
                try:
                    self._install(self.credentials.with_bundle(bundle))
                    log.info("trust bundle updated (%d roots)", len(bundle))
                except ssl.SSLError as exc:
                    log.error("trust bundle of snapshot %s unusable, keeping the old one: %s", snapshot.version, exc)
        self.plan = tls_plan(snapshot, self.credentials is not None)

    def upstream(self, address: str, port: int) -> UpstreamIdentity | None:
        """Return how to secure connections to ``address:port`` under the current snapshot (None: plaintext)."""
        expected = self.plan.get((address, port))
        if expected is None:
            return None
        found = self._upstreams.get(expected)
        if found is None:
            found = self._upstreams[expected] = UpstreamIdentity(lambda: self.client, expected,
                                                                 lambda: self.trust_domain)
        return found
