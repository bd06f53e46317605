"""Who a proxy is: the workload it fronts, as the control plane and the metrics see it."""

from __future__ import annotations

import msgspec

CLUSTER_DOMAIN = "svc.cluster.local"


class ProxyNode(msgspec.Struct, frozen=True, kw_only=True):
    """The identity a proxy announces: workload name, namespace, service account, labels.

    ``kind`` is ``sidecar`` or ``gateway``.
    """

    name: str
    namespace: str = "default"
    service_account: str = ""
    labels: dict[str, str] = {}
    kind: str = "sidecar"
    trust_domain: str = "cluster.local"

    @property
    def sa(self) -> str:
        """Return the service account, defaulting to the workload name."""
        return self.service_account or self.name

    @property
    def principal(self) -> str:
        """Return the SPIFFE-style principal ``<td>/ns/<ns>/sa/<sa>`` as Istio's metrics show it."""
        return f"{self.trust_domain}/ns/{self.namespace}/sa/{self.sa}"

    @property
    def app(self) -> str:
        """Return the ``app`` label, defaulting to the workload name."""
        return self.labels.get("app", self.name)

    @property
    def version(self) -> str:
        """Return the ``version`` label, or ``unknown`` as Istio reports it."""
        return self.labels.get("version", "unknown")


def service_fqdn(name: str, namespace: str) -> str:
    """Return ``<name>.<namespace>.svc.cluster.local``."""
    return f"{name}.{namespace}.{CLUSTER_DOMAIN}"


def host_aliases(fqdn: str, client_namespace: str) -> tuple[str, ...]:
    """Return every name a client in ``client_namespace`` may use for the service ``fqdn``.

    ``order.default.svc.cluster.local`` is also ``order.default.svc`` and ``order.default``,
    and plain ``order`` from inside namespace ``default``. Hosts outside the cluster
    domain (ServiceEntry hosts such as ``api.example.com``) have only their own name.
    """
    suffix = "." + CLUSTER_DOMAIN
    if not fqdn.endswith(suffix):
        return (fqdn,)
    name, _, namespace = fqdn[: -len(suffix)].partition(".")
    aliases = [fqdn, f"{name}.{namespace}.svc", f"{name}.{namespace}"]
    if namespace == client_namespace:
        aliases.append(name)
    return tuple(aliases)
