"""Join tokens: minted, verified, readable by the proxy, unforgeable, optionally expiring."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tether.control.ca.tokens import InvalidToken, JoinTokens, read_claims
from tether.proxy.tls.spiffe import BadIdentity


def test_a_minted_token_verifies_and_names_its_identity(tmp_path: Path) -> None:
    tokens = JoinTokens.in_dir(str(tmp_path))
    assert stat.S_IMODE(os.stat(tmp_path / "join.key").st_mode) == 0o600
    token = tokens.mint("cluster.local", "shop", "cart", name="cart-1", now=100.0)
    claims = tokens.verify(token, now=200.0)
    assert claims.identity.uri == "spiffe://cluster.local/ns/shop/sa/cart"
    assert (claims.name, claims.iat, claims.exp) == ("cart-1", 100, 0)
    assert read_claims(token) == claims
    # The key survives a restart: a token minted before still verifies.
    assert JoinTokens.in_dir(str(tmp_path)).verify(token, now=300.0) == claims


def test_forged_foreign_malformed_and_expired_tokens_are_refused(tmp_path: Path) -> None:
    tokens = JoinTokens.in_dir(str(tmp_path / "a"))
    token = tokens.mint("cluster.local", "default", "order", now=0.0, ttl_s=60)
    prefix, _, mac = token.split(".")
    other = JoinTokens.in_dir(str(tmp_path / "b")).mint("cluster.local", "default", "admin", now=0.0)
    forged = ".".join([prefix, other.split(".")[1], mac])
    with pytest.raises(InvalidToken, match="does not verify"):
        tokens.verify(forged, now=1.0)
    with pytest.raises(InvalidToken, match="does not verify"):
        tokens.verify(other, now=1.0)
    with pytest.raises(InvalidToken, match="not a Tether join token"):
        tokens.verify("hello", now=1.0)
    with pytest.raises(InvalidToken, match="does not decode"):
        tokens.verify(f"{prefix}.!!!.{mac}", now=1.0)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token, now=61.0)
    assert tokens.verify(token, now=59.0).sa == "order"


def test_identities_are_checked_when_minting(tmp_path: Path) -> None:
    tokens = JoinTokens.in_dir(str(tmp_path))
    with pytest.raises(BadIdentity):
        tokens.mint("Bad Domain", "default", "x", now=0.0)
    with pytest.raises(BadIdentity):
        tokens.mint("cluster.local", "default", "a/b", now=0.0)
