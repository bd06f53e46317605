"""Weighted splits through a real sidecar, counted at two upstreams: 80/20 over 2,000 requests
must land within ±4 points, whichever API declares it (VirtualService weights over
DestinationRule subsets, SMI TrafficSplit, Gateway API HTTPRoute backendRef weights).

The proxy draws with its own unseeded generator, so the bound is statistical: the share of
2,000 draws at p = 0.8 has a standard deviation of 0.9 points, and ±4 points is ±4.5 of
them (a false failure about once in 150,000 runs).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.testing.rawhttp import RawClient
from tether.testing.sidecar import service_entry, start_static
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

REQUESTS = 2000
TOLERANCE = 0.04

VIRTUAL_SERVICE_SPLIT = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: vs-reviews}
spec:
  host: vs-reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs-reviews}
spec:
  hosts: [vs-reviews]
  http:
  - route:
    - {destination: {host: vs-reviews, subset: v1}, weight: 80}
    - {destination: {host: vs-reviews, subset: v2}, weight: 20}
"""

SMI_SPLIT = """\
apiVersion: split.smi-spec.io/v1alpha4
kind: TrafficSplit
metadata: {name: smi-reviews}
spec:
  service: smi-reviews
  backends:
  - {service: smi-reviews-v1, weight: 80}
  - {service: smi-reviews-v2, weight: 20}
"""

SMI_V1ALPHA1_SPLIT = """\
apiVersion: split.smi-spec.io/v1alpha1
kind: TrafficSplit
metadata: {name: smi-old-reviews}
spec:
  service: smi-old-reviews.default.svc.cluster.local
  backends:
  - {service: smi-reviews-v1, weight: 800m}
  - {service: smi-reviews-v2, weight: 200m}
"""

HTTPROUTE_SPLIT = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: gamma-reviews}
spec:
  parentRefs: [{group: "", kind: Service, name: gamma-reviews, port: 80}]
  rules:
  - backendRefs:
    - {name: gamma-reviews-v1, port: 80, weight: 8}
    - {name: gamma-reviews-v2, port: 80, weight: 2}
"""


def split_config(v1: int, v2: int) -> str:
    """Return the services and the four splits, every ``*-v1`` at port ``v1``, ``*-v2`` at ``v2``."""
    docs = [service_entry("vs-reviews", (v1, "reviews", "v1"), (v2, "reviews", "v2"))]
    for root in ("smi-reviews", "smi-old-reviews", "gamma-reviews"):
        docs.append(service_entry(root, (v1, root, "v1")))
    for prefix in ("smi-reviews", "gamma-reviews"):
        docs.append(service_entry(f"{prefix}-v1", (v1, prefix, "v1")))
        docs.append(service_entry(f"{prefix}-v2", (v2, prefix, "v2")))
    docs += [VIRTUAL_SERVICE_SPLIT, SMI_SPLIT, SMI_V1ALPHA1_SPLIT, HTTPROUTE_SPLIT]
    return "---\n".join(docs)


class Bench:
    """Two upstreams (v1, v2) and one sidecar routing the splits to them."""

    def __init__(self, tmp: Path) -> None:
        self.v1 = ScriptableUpstream(record=False).start()
        self.v2 = ScriptableUpstream(record=False).start()
        self.sidecar = start_static(tmp, "client", split_config(self.v1.port, self.v2.port))

    def share_of_v1(self, host: str) -> float:
        """Send REQUESTS requests for ``host`` on one connection; return v1's share of them."""
        start1, start2 = self.v1.request_count, self.v2.request_count
        with RawClient(self.sidecar.outbound) as client:
            for i in range(REQUESTS):
                resp = client.request("GET", f"/split/{i}", [("Host", host)], keep_body=False)
                assert resp.status == 200, (host, resp, self.sidecar.describe())
        got1, got2 = self.v1.request_count - start1, self.v2.request_count - start2
        assert got1 + got2 == REQUESTS
        return got1 / REQUESTS

    def close(self) -> None:
        self.sidecar.proc.stop()
        self.v1.stop()
        self.v2.stop()


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    running = Bench(tmp_path_factory.mktemp("split"))
    try:
        yield running
    finally:
        running.close()


@pytest.mark.parametrize("host", ["vs-reviews", "smi-reviews", "smi-old-reviews", "gamma-reviews"])
def test_80_20_split_within_4_points(bench: Bench, host: str) -> None:
    share = bench.share_of_v1(host)
    assert abs(share - 0.8) <= TOLERANCE, f"{host}: v1 got {share:.3f} of {REQUESTS}"


def test_split_is_per_request_not_per_connection(bench: Bench) -> None:
    # Both backends are reached within the first few dozen requests of one connection.
    start1, start2 = bench.v1.request_count, bench.v2.request_count
    with RawClient(bench.sidecar.outbound) as client:
        for i in range(60):
            assert client.request("GET", f"/mix/{i}", [("Host", "vs-reviews")], keep_body=False).status == 200
    assert bench.v1.request_count > start1 and bench.v2.request_count > start2
