"""Inbound authorization: the snapshot's AuthorizationPolicies (and SMI TrafficTargets) decide.

A denied request is answered ``403 RBAC: access denied`` (Envoy's text); Envoy's RBAC filter
sets no response flag, so neither do we (``-``), but ``ex.extra["response_code_details"]``
names the policy as Envoy's ``rbac_access_denied_matched_policy[...]`` does.

The caller's principal is read from ``ex.extra[PEER_PRINCIPAL]``, which only the layer that
verified the peer's certificate (mTLS) may set. Nothing a client sends (not ``x-tether-peer``,
not any header) is taken as a principal: without mTLS the peer is unauthenticated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tether.core.errors import ConfigRejected
from tether.core.schema.security import AuthzConfig, AuthzPolicy, AuthzRule
from tether.core.schema.snapshot import Snapshot
from tether.proxy.authz.engine import AuthzRequest, Decision, Engine, RequestAuth
from tether.proxy.authz.match import normalise_path
from tether.proxy.chain import Filter
from tether.proxy.errors import ProxyError
from tether.proxy.exchange import Exchange
from tether.proxy.routing import RoutingTable
from tether.proxy.upstream.cluster import ClusterRuntime

log = logging.getLogger(__name__)

PEER_PRINCIPAL = "peer_principal"  # ex.extra key: the mTLS-verified peer principal
REQUEST_AUTH = "request_auth"  # ex.extra key: the RequestAuth of a verified JWT (set by filters.jwt)
AUDITED = "authz_audit"  # ex.extra key: names of the AUDIT policies that matched


class AccessDenied(ProxyError):
    status, flag, detail = 403, "-", "RBAC: access denied"


class AuthzStats:
    """Counters: requests allowed, denied, and audited (an AUDIT policy matched)."""

    def __init__(self) -> None:
        self.allowed = 0
        self.denied = 0
        self.audited = 0


def _engine(snapshot: Snapshot | None) -> Engine | None:
    config = snapshot.authz if snapshot is not None else None
    if config is None or not config.policies:
        return None
    try:
        return Engine(config)
    except ConfigRejected as exc:
        # The control plane validates first; should a bad policy still arrive, deny everything.
        log.error("authorization policies do not compile, denying all requests: %s", exc.reason)
        return Engine(AuthzConfig(policies=(AuthzPolicy(name="invalid-policy", action="DENY",
                                                        rules=(AuthzRule(),)),)))


def extras(ex: Exchange) -> dict[str, Any]:
    """Return ``ex.extra``, creating it if needed."""
    if ex.extra is None:
        ex.extra = {}
    return ex.extra


class Authorization(Filter):
    """Decides every inbound request against the snapshot's policies; raises AccessDenied."""

    name = "authz"

    def __init__(self, table: Callable[[], RoutingTable | None],
                 local_app: Callable[[], ClusterRuntime | None]) -> None:
        self.table = table
        self.local_app = local_app
        self.stats = AuthzStats()
        self._snapshot: Snapshot | None = None
        self._engine: Engine | None = None

    def check_snapshot(self, snapshot: Snapshot) -> None:
        """Refuse a snapshot whose policies do not compile (raises ConfigRejected), so the proxy
        NACKs it and keeps enforcing the last good policies. The engine compiled here is kept,
        so ``engine()`` finds it ready once the snapshot is swapped in."""
        config = snapshot.authz
        engine = Engine(config) if config is not None and config.policies else None
        self._snapshot, self._engine = snapshot, engine

    def engine(self) -> Engine | None:
        """Return the engine of the current snapshot (compiled on first use), None without policies."""
        table = self.table()
        snapshot = table.snapshot if table is not None else None
        if snapshot is not self._snapshot:
            self._snapshot, self._engine = snapshot, _engine(snapshot)
        return self._engine

    def request_of(self, ex: Exchange, engine: Engine) -> AuthzRequest:
        """Return the facts of ``ex`` the engine decides on."""
        extra = ex.extra or {}
        app = self.local_app()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in ex.headers} if engine.uses_headers else {}
        auth = extra.get(REQUEST_AUTH)
        return AuthzRequest(
            method=ex.method.decode("latin-1"),
            path=normalise_path(ex.path.decode("latin-1")),
            host=(ex.headers.get(b"host") or b"").decode("latin-1"),
            port=app.spec.port if app is not None else 0,
            source_ip=ex.client_address,
            remote_ip=ex.client_address,
            principal=str(extra.get(PEER_PRINCIPAL, "")),
            headers=headers,
            auth=auth if isinstance(auth, RequestAuth) else None,
        )

    def decide(self, ex: Exchange) -> Decision | None:
        """Return the decision for ``ex``, None when no policy applies."""
        engine = self.engine()
        return engine.decide(self.request_of(ex, engine)) if engine is not None else None

    def on_request(self, ex: Exchange) -> None:
        """Let ``ex`` through or raise AccessDenied; AUDIT matches are noted in ``ex.extra``."""
        decision = self.decide(ex)
        if decision is None:
            return
        if decision.audited:
            self.stats.audited += 1
            extras(ex)[AUDITED] = decision.audited
            log.info("audit: %s %s matched %s", ex.method.decode("latin-1"), ex.path.decode("latin-1"),
                     ", ".join(decision.audited))
        if decision.allowed:
            self.stats.allowed += 1
            return
        self.stats.denied += 1
        extras(ex)["response_code_details"] = f"rbac_access_denied_matched_policy[{decision.policy or 'none'}]"
        raise AccessDenied()
