"""The CA as the control plane runs it: issue certificates to token holders, mint tokens.

``MeshCA.issue`` is the whole entitlement rule: a genuine join token, and a CSR naming
exactly the identity that token grants. Every refusal is logged with its reason.
"""

from __future__ import annotations

import logging
import socket
import ssl
from dataclasses import dataclass

import msgspec

from tether.control.ca.authority import ROOT_LIFETIME_S, Authority, issue_server, load_or_create
from tether.control.ca.tokens import JoinTokens, TokenClaims
from tether.core.clock import Clock
from tether.core.schema.security import ROOT_NAMESPACE
from tether.core.schema.snapshot import Snapshot, with_version
from tether.proxy.tls.certs import key_to_pem, load_certs, new_key, not_after
from tether.proxy.tls.contexts import load_chain
from tether.proxy.tls.spiffe import check_trust_domain, make_id

log = logging.getLogger(__name__)

DEFAULT_CERT_TTL_S = 24 * 3600.0


@dataclass(frozen=True)
class CaOptions:
    """The ``tether control`` flags of the CA."""

    trust_domain: str = "cluster.local"
    cert_ttl_s: float = DEFAULT_CERT_TTL_S
    ca_cert: str | None = None
    ca_key: str | None = None
    extra_roots: tuple[str, ...] = ()


class Issued(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a CSR: the chain (leaf first), the trust bundle, the identity, the expiry."""

    certificate: str
    trust_bundle: tuple[str, ...]
    spiffe_id: str
    expires: float


class MeshCA:
    """The authority, the token minter and the certificate lifetime, with an injected clock."""

    def __init__(self, authority: Authority, tokens: JoinTokens, clock: Clock,
                 cert_ttl_s: float = DEFAULT_CERT_TTL_S) -> None:
        self.authority = authority
        self.tokens = tokens
        self.clock = clock
        self.cert_ttl_s = cert_ttl_s
        self.issued = 0
        self.refused = 0

    @classmethod
    def in_dir(cls, data_dir: str, options: CaOptions, clock: Clock) -> MeshCA:
        """Return the CA of ``data_dir`` (created on first start); raises CaError or BadIdentity."""
        import os

        check_trust_domain(options.trust_domain)
        authority = load_or_create(data_dir, options.trust_domain, clock.wall(), ca_cert=options.ca_cert,
                                   ca_key=options.ca_key, extra_roots=options.extra_roots)
        return cls(authority, JoinTokens.in_dir(os.path.join(data_dir, "ca")), clock, options.cert_ttl_s)

    @property
    def trust_domain(self) -> str:
        """Return the mesh's trust domain."""
        return self.authority.trust_domain

    def mint(self, namespace: str, service_account: str, name: str = "", ttl_s: float | None = None) -> str:
        """Return a join token for ``namespace``/``service_account``; raises BadIdentity."""
        return self.tokens.mint(self.trust_domain, namespace, service_account, name=name, now=self.clock.wall(),
                                ttl_s=ttl_s)

    def claims(self, token: str) -> TokenClaims:
        """Return the claims of a genuine token; raises InvalidToken."""
        return self.tokens.verify(token, self.clock.wall())

    def issue(self, token: str, csr_pem: str, peer: str = "") -> Issued:
        """Return a certificate for the CSR if ``token`` entitles it; raises InvalidToken or BadIdentity."""
        try:
            claims = self.claims(token)
            chain = self.authority.sign(csr_pem, claims.identity, self.cert_ttl_s, self.clock.wall())
        except Exception as exc:
            self.refused += 1
            log.warning("certificate refused to %s: %s", peer or "a proxy", exc)
            raise
        self.issued += 1
        log.info("issued a certificate for %s to %s", claims.identity.uri, peer or "a proxy")
        return Issued(certificate=chain, trust_bundle=self.authority.bundle, spiffe_id=claims.identity.uri,
                      expires=not_after(load_certs(chain)[0]))

    def control_context(self, bind: str) -> ssl.SSLContext:
        """Return the TLS context of the control API (``--tls``): a certificate from this CA for
        ``bind``, ``localhost``, ``127.0.0.1`` and this host's name (clients verify it against the
        trust bundle, ``<data>/ca/root-cert.pem``). Valid as long as the root; made at every start."""
        key = new_key()
        ident = make_id(self.trust_domain, ROOT_NAMESPACE, "control")
        hosts = [h for h in (bind, "localhost", "127.0.0.1", socket.gethostname()) if h not in ("", "0.0.0.0", "::")]
        chain = issue_server(self.authority, hosts, ident, key, ROOT_LIFETIME_S, self.clock.wall())
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        load_chain(ctx, chain, key_to_pem(key))
        return ctx

    def secure(self, snapshot: Snapshot) -> Snapshot:
        """Return ``snapshot`` carrying the trust bundle (versioned again, since content changed)."""
        return with_version(msgspec.structs.replace(snapshot, trust_bundle=self.authority.bundle))
