"""A throwaway CA for tests and benchmarks: workload credentials without a control plane.

``DevCa`` issues through the same ``Authority.sign`` as the control plane, so what the tests
exercise is what the mesh runs; it can also issue what the mesh never would (an expired
certificate, another CA's) to check that those are refused.
"""

from __future__ import annotations

import time

from tether.control.ca.authority import Authority, create_root
from tether.proxy.tls.certs import key_to_pem, load_certs, make_csr, new_key, not_after
from tether.proxy.tls.contexts import Credentials
from tether.proxy.tls.spiffe import make_id


class DevCa:
    """A root CA held in memory."""

    def __init__(self, trust_domain: str = "cluster.local", now: float | None = None) -> None:
        cert, key = create_root(trust_domain, time.time() if now is None else now)
        self.authority = Authority(cert=cert, key=key, chain=(), trusted=(cert,), trust_domain=trust_domain)

    @classmethod
    def of(cls, authority: Authority) -> DevCa:
        """Return a DevCa issuing with an existing authority (e.g. the control plane's, read from disk)."""
        ca = cls.__new__(cls)
        ca.authority = authority
        return ca

    @property
    def bundle(self) -> tuple[str, ...]:
        return self.authority.bundle

    def credentials(self, namespace: str, service_account: str, *, ttl_s: float = 3600.0,
                    issued_at: float | None = None, bundle: tuple[str, ...] | None = None) -> Credentials:
        """Return credentials for ``spiffe://<td>/ns/<namespace>/sa/<service_account>``.

        ``issued_at`` in the past with a short ``ttl_s`` gives an expired certificate;
        ``bundle`` replaces the roots the holder trusts (default: this CA's).
        """
        ident = make_id(self.authority.trust_domain, namespace, service_account)
        key = new_key()
        now = time.time() if issued_at is None else issued_at
        chain = self.authority.sign(make_csr(key, ident), ident, ttl_s, now)
        return Credentials(chain_pem=chain, key_pem=key_to_pem(key), bundle=self.bundle if bundle is None else bundle,
                           identity=ident, not_after=not_after(load_certs(chain)[0]))
