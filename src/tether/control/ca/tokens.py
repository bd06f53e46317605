"""Join tokens: what entitles a proxy to a certificate for one workload identity.

A token is ``tjt1.<payload>.<mac>``: the payload (base64url JSON: trust domain, namespace,
service account, workload name, issue time, optional expiry) and an HMAC-SHA256 over it
with a key kept in ``<data>/ca/join.key`` (mode 0600). Nothing is stored per token, so
tokens survive a control-plane restart; rotating the key revokes every token at once.
The payload is not secret (a proxy reads its own identity from it), only unforgeable.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

import msgspec

from tether.control.ca.authority import write_private
from tether.proxy.tls.jointoken import PREFIX, InvalidToken, TokenClaims, b64, read_claims
from tether.proxy.tls.spiffe import make_id

__all__ = ["InvalidToken", "JoinTokens", "TokenClaims", "read_claims"]

KEY_FILE = "join.key"


class JoinTokens:
    """Mints and verifies join tokens with one secret key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def in_dir(cls, ca_dir: str) -> JoinTokens:
        """Return the minter whose key is ``<ca_dir>/join.key``, creating the key (0600) if absent."""
        path = os.path.join(ca_dir, KEY_FILE)
        os.makedirs(ca_dir, exist_ok=True)
        try:
            with open(path, "rb") as f:
                key = f.read().strip()
        except FileNotFoundError:
            key = b""
        if len(key) < 32:
            key = secrets.token_hex(32).encode()
            write_private(path, key)
        return cls(key)

    def _mac(self, payload: str) -> str:
        return b64(hmac.new(self._key, f"{PREFIX}.{payload}".encode(), hashlib.sha256).digest())

    def mint(self, trust_domain: str, namespace: str, service_account: str, *, name: str = "",
             now: float, ttl_s: float | None = None) -> str:
        """Return a token for ``spiffe://td/ns/<namespace>/sa/<service_account>``.

        Raises BadIdentity when a part is malformed.
        """
        make_id(trust_domain, namespace, service_account)
        claims = TokenClaims(td=trust_domain, ns=namespace, sa=service_account, name=name, iat=int(now),
                             exp=int(now + ttl_s) if ttl_s else 0)
        payload = b64(msgspec.json.encode(claims))
        return f"{PREFIX}.{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: float) -> TokenClaims:
        """Return the claims of a genuine, unexpired ``token``; raises InvalidToken otherwise."""
        claims = read_claims(token)
        _, payload, mac = token.strip().split(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidToken("join token signature does not verify (minted by another control plane?)")
        if claims.exp and now >= claims.exp:
            raise InvalidToken("join token has expired; create a new one with `tether token create`")
        return claims
