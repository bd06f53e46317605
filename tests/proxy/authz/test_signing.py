"""The signing helpers produce what the verifier accepts."""

from __future__ import annotations

import pytest

from tether.proxy.authz.signing import jwks, new_key, public_jwk, sign, unsigned
from tether.proxy.authz.verify import parse_jwks, parse_token, verify


@pytest.mark.parametrize("alg", ["RS256", "ES256", "ES384", "EdDSA"])
def test_round_trip(alg: str) -> None:
    key = new_key(alg)
    token = sign({"iss": "i", "sub": "s"}, key, alg, "k")
    assert verify(parse_token(token), "i", (), parse_jwks(jwks(public_jwk(key, "k"))), 0).principal == "i/s"


def test_unknown_algorithm_and_unsigned() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        new_key("HS256")
    assert parse_token(unsigned({"a": 1})).header == {"alg": "none", "typ": "JWT"}
