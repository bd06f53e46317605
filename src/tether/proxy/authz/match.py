"""Matchers the authorization engine is compiled from: Istio string patterns, IP blocks, paths.

Pure functions; a bad CIDR or regular expression raises ``ConfigRejected`` at compile time,
never during a request.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable

from tether.core.errors import ConfigRejected

Test = Callable[[str], bool]
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def pattern(p: str, fold: bool = False) -> Test:
    """Return a test for one Istio string pattern: ``*`` any non-empty value, ``x*`` prefix,
    ``*x`` suffix, else exact (case-insensitive when ``fold``)."""
    if fold:
        p = p.lower()
    if p == "*":
        return lambda v: v != ""
    if p.endswith("*"):
        head = p[:-1]
        return (lambda v: v.lower().startswith(head)) if fold else (lambda v: v.startswith(head))
    if p.startswith("*"):
        tail = p[1:]
        return (lambda v: v.lower().endswith(tail)) if fold else (lambda v: v.endswith(tail))
    return (lambda v: v.lower() == p) if fold else (lambda v: v == p)


def any_pattern(patterns: Iterable[str], fold: bool = False) -> Test:
    """Return a test true when any of ``patterns`` matches the value."""
    tests = tuple(pattern(p, fold) for p in patterns)
    exact = frozenset(p.lower() if fold else p for p in patterns if "*" not in p)
    if len(exact) == len(tests):  # the common case: a set lookup
        return (lambda v: v.lower() in exact) if fold else (lambda v: v in exact)
    return lambda v: any(t(v) for t in tests)


def networks(blocks: Iterable[str]) -> tuple[IpNetwork, ...]:
    """Return ``blocks`` (addresses or CIDRs) as networks; raises ConfigRejected naming a bad one."""
    out = []
    for b in blocks:
        try:
            out.append(ipaddress.ip_network(b.strip(), strict=False))
        except ValueError as exc:
            raise ConfigRejected(f"authorization: {b!r} is not an IP address or CIDR block") from exc
    return tuple(out)


def in_blocks(blocks: Iterable[str]) -> Test:
    """Return a test true when the address given is inside one of ``blocks``."""
    nets = networks(blocks)

    def test(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip.version == n.version and ip in n for n in nets)

    return test


def full_regex(expr: str) -> Test:
    """Return a full-match test for ``expr``; raises ConfigRejected if it does not compile."""
    try:
        compiled = re.compile(expr)
    except re.error as exc:
        raise ConfigRejected(f"authorization: bad regular expression {expr!r}: {exc}") from exc
    return lambda v: compiled.fullmatch(v) is not None


def normalise_path(target: str) -> str:
    """Return the path of ``target`` without query or fragment, dot segments resolved and
    repeated slashes merged, so ``/a/../admin`` and ``//admin`` are judged as ``/admin``."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    if "/." not in path and "//" not in path:
        return path or "/"
    out: list[str] = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    trailing = "/" if path.endswith(("/", "/.", "/..")) and out else ""
    return "/" + "/".join(out) + trailing


def namespace_of(principal: str) -> str:
    """Return the namespace in a principal ``<td>/ns/<ns>/sa/<sa>`` ("" if it has none)."""
    parts = principal.split("/")
    for i in range(len(parts) - 2):
        if parts[i] == "ns":
            return parts[i + 1]
    return ""
