"""Host qualification, wildcard matching, exportTo and label selection."""

from __future__ import annotations

import pytest

from tether.control.translate.hosts import exported_to, host_matches, labels_match, qualify


@pytest.mark.parametrize(
    ("host", "expected"),
    [("order", "order.shop.svc.cluster.local"), ("order.default", "order.default.svc.cluster.local"),
     ("order.default.svc", "order.default.svc.cluster.local"), ("api.example.com", "api.example.com"),
     ("*.example.com", "*.example.com"), ("*", "*"),
     ("order.default.svc.cluster.local", "order.default.svc.cluster.local")],
)
def test_qualify(host: str, expected: str) -> None:
    assert qualify(host, "shop") == expected


def test_host_matches() -> None:
    assert host_matches("*", "anything")
    assert host_matches("*.example.com", "api.example.com")
    assert not host_matches("*.example.com", "example.com")
    assert host_matches("a.b", "a.b") and not host_matches("a.b", "a.c")


@pytest.mark.parametrize(
    ("export_to", "owner", "ns", "seen"),
    [((), "a", "b", True), (("*",), "a", "b", True), ((".",), "a", "a", True), ((".",), "a", "b", False),
     (("b",), "a", "b", True), (("c",), "a", "b", False)],
)
def test_exported_to(export_to: tuple[str, ...], owner: str, ns: str, seen: bool) -> None:
    assert exported_to(export_to, owner, ns) is seen


def test_labels_match() -> None:
    assert labels_match({}, {"a": "1"})
    assert labels_match({"a": "1"}, {"a": "1", "b": "2"})
    assert not labels_match({"a": "1"}, {"a": "2"})
