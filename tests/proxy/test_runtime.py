"""ProxyRuntime in-process: snapshot swap, routing, metrics, admin — real sockets, one loop."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator

import pytest

from tether.core.clock import SYSTEM_CLOCK
from tether.core.errors import ConfigRejected
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Cluster, Endpoint, Route, Snapshot, VirtualHost, WeightedCluster, with_version
from tether.proxy.runtime import ProxyRuntime, ProxySettings
from tether.testing.rawhttp import http_request
from tether.testing.upstream import ScriptableUpstream

NODE = ProxyNode(name="client", labels={"version": "v1"})


def snapshot_to(port: int, cluster: str = "outbound|80||upstream.default.svc.cluster.local") -> Snapshot:
    fqdn = "upstream.default.svc.cluster.local"
    return with_version(
        Snapshot(
            virtual_hosts=(
                VirtualHost(
                    name=f"{fqdn}:80",
                    domains=(fqdn, "upstream", "upstream:80"),
                    port=80,
                    routes=(Route(name="default", clusters=(WeightedCluster(cluster=cluster),)),),
                ),
            ),
            clusters=(
                Cluster(
                    name="outbound|80||upstream.default.svc.cluster.local",
                    service=fqdn,
                    port=80,
                    endpoints=(
                        Endpoint(address="127.0.0.1", port=port, labels={"app": "upstream"}, workload="upstream"),
                    ),
                ),
            ),
        )
    )


@pytest.fixture
def upstream() -> Iterator[ScriptableUpstream]:
    with ScriptableUpstream() as up:
        yield up


@pytest.fixture
async def runtime(upstream: ScriptableUpstream, tmp_path: object) -> AsyncIterator[ProxyRuntime]:
    settings = ProxySettings(outbound_port=0, inbound_port=0, admin_port=0, app_port=upstream.port, access_log=None)
    rt = ProxyRuntime(NODE, settings, SYSTEM_CLOCK, random.Random(7))
    rt.apply_snapshot(snapshot_to(upstream.port))
    rt.ports = await rt.start()  # type: ignore[attr-defined]
    yield rt
    await rt.close()


async def test_outbound_by_host_reaches_upstream_and_counts(
    runtime: ProxyRuntime, upstream: ScriptableUpstream
) -> None:
    port = runtime.ports["outbound"]  # type: ignore[attr-defined]
    response = await asyncio.to_thread(http_request, port, "GET", "/hello", [("Host", "upstream")])
    assert response.status == 200
    assert upstream.requests[-1].path == "/hello"
    metrics = await asyncio.to_thread(http_request, runtime.ports["admin"], "GET", "/stats/prometheus", [("Host", "a")])  # type: ignore[attr-defined]
    text = (metrics.body or b"").decode()
    assert 'istio_requests_total{reporter="source",source_workload="client"' in text
    assert 'response_code="200"' in text


async def test_unknown_cluster_is_refused_and_old_snapshot_kept(
    runtime: ProxyRuntime, upstream: ScriptableUpstream
) -> None:
    before = runtime.snapshot
    with pytest.raises(ConfigRejected, match="unknown cluster"):
        runtime.apply_snapshot(snapshot_to(upstream.port, cluster="outbound|80||nope"))
    assert runtime.snapshot is before
    port = runtime.ports["outbound"]  # type: ignore[attr-defined]
    response = await asyncio.to_thread(http_request, port, "GET", "/", [("Host", "upstream")])
    assert response.status == 200


async def test_unknown_host_is_404_nr(runtime: ProxyRuntime) -> None:
    port = runtime.ports["outbound"]  # type: ignore[attr-defined]
    response = await asyncio.to_thread(http_request, port, "GET", "/", [("Host", "nowhere")])
    assert response.status == 404
