"""Host names as resources write them: qualification, wildcards and visibility."""

from __future__ import annotations

from tether.core.identity import CLUSTER_DOMAIN, service_fqdn


def qualify(host: str, namespace: str) -> str:
    """Return the FQDN ``host`` means when written in ``namespace``.

    ``order`` → ``order.<namespace>.svc.cluster.local``; ``order.shop`` →
    ``order.shop.svc.cluster.local``; ``order.shop.svc`` gets ``.cluster.local``; other names
    with dots (``api.example.com``) and wildcards (``*.example.com``, ``*``) stay as written.
    """
    if host == "*" or not host:
        return host
    if "." not in host:
        return service_fqdn(host, namespace)
    if host.startswith("*"):
        return host
    if host.count(".") == 1:
        return f"{host}.{CLUSTER_DOMAIN}"
    if host.endswith(".svc"):
        return f"{host}.cluster.local"
    return host


def host_matches(pattern: str, host: str) -> bool:
    """Return whether the (qualified) ``pattern`` (``*``, ``*.suffix`` or a name) covers ``host``."""
    if pattern == host or pattern == "*":
        return True
    return pattern.startswith("*.") and host.endswith(pattern[1:])


def exported_to(export_to: tuple[str, ...], owner_namespace: str, namespace: str) -> bool:
    """Return whether a resource of ``owner_namespace`` with ``exportTo`` is seen from ``namespace``."""
    if not export_to:
        return True
    for entry in export_to:
        if entry == "*" or entry == namespace or (entry == "." and owner_namespace == namespace):
            return True
    return False


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Return whether every ``selector`` label is in ``labels`` with the same value."""
    return all(labels.get(k) == v for k, v in selector.items())
