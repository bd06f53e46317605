"""Patterns, IP blocks and path normalisation used by the authorization engine."""

from __future__ import annotations

import pytest

from tether.core.errors import ConfigRejected
from tether.proxy.authz.match import any_pattern, in_blocks, namespace_of, networks, normalise_path, pattern


@pytest.mark.parametrize(("p", "value", "ok"), [
    ("*", "x", True), ("*", "", False), ("/a*", "/abc", True), ("*c", "/abc", True),
    ("/a", "/a", True), ("/a", "/ab", False), ("A*", "abc", False),
])
def test_pattern(p: str, value: str, ok: bool) -> None:
    assert pattern(p)(value) is ok


def test_folded_patterns() -> None:
    assert any_pattern(["Foo.COM"], fold=True)("foo.com")
    assert any_pattern(["*.Foo.com", "bar"], fold=True)("x.FOO.com")


def test_blocks() -> None:
    test = in_blocks(["10.0.0.0/8", "::1"])
    assert test("10.2.3.4") and test("::1") and not test("11.0.0.1") and not test("not an ip")
    with pytest.raises(ConfigRejected):
        networks(["nope"])


@pytest.mark.parametrize(("target", "path"), [
    ("/a/b?x=1", "/a/b"), ("/a/../admin", "/admin"), ("//admin", "/admin"), ("/./admin/", "/admin/"),
    ("/../..", "/"), ("", "/"), ("/a#frag", "/a"),
])
def test_normalise_path(target: str, path: str) -> None:
    assert normalise_path(target) == path


def test_namespace_of() -> None:
    assert namespace_of("cluster.local/ns/shop/sa/order") == "shop"
    assert namespace_of("") == ""
