"""Micro-benchmark of translation: a big world, one node, how long ``translate`` takes.

    .venv/bin/python benchmarks/translate.py [--workloads 1000] [--resources 1000] [--repeat 5]

The world: ``--workloads`` proxies spread over services of 5 instances (versions v1..v5);
``--resources`` split into one VirtualService (header match + weighted subsets + timeout,
retries, a fault) and one DestinationRule (subsets per version, connection pool, outlier
detection, a rate-limit annotation) per service, and ServiceEntries (DNS, one host each) for
the rest. Prints the time to build the World and to translate for one node (best of
``--repeat``), plus the snapshot size. The target is translate < 1 s for 1,000 x 1,000.
"""

from __future__ import annotations

import argparse
import time

from tether.control.model import Resource, parse_documents
from tether.control.translate import translate
from tether.control.world import Workload, World
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import encode

INSTANCES = 5


def _doc(i: int, kind: str, spec: str, annotations: str = "{}") -> str:
    return (f"apiVersion: networking.istio.io/v1\nkind: {kind}\n"
            f"metadata: {{name: r{i}, annotations: {annotations}}}\nspec: {spec}\n---\n")


def build_world(n_workloads: int, n_resources: int) -> tuple[World, float]:
    """Return the world and the seconds spent parsing its resources."""
    services = max(1, n_workloads // INSTANCES)
    workloads = tuple(
        Workload(ProxyNode(name=f"svc{i % services}", labels={"version": f"v{i // services % INSTANCES + 1}"}),
                 f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", 15006)
        for i in range(n_workloads)
    )
    docs: list[str] = []
    for i in range(n_resources):
        s = i // 2
        if s < services and i % 2 == 0:
            docs.append(_doc(i, "VirtualService", (
                f"{{hosts: [svc{s}], http: [{{match: [{{headers: {{x-canary: {{exact: 'yes'}}}}}}], "
                f"route: [{{destination: {{host: svc{s}, subset: v2}}}}]}}, "
                f"{{timeout: 3s, retries: {{attempts: 3, perTryTimeout: 1s, retryOn: '5xx,503'}}, "
                f"fault: {{delay: {{fixedDelay: 5ms, percentage: {{value: 1}}}}}}, "
                f"route: [{{destination: {{host: svc{s}, subset: v1}}, weight: 90}}, "
                f"{{destination: {{host: svc{s}, subset: v2}}, weight: 10}}]}}]}}")))
        elif s < services:
            subsets = ", ".join(f"{{name: v{v}, labels: {{version: v{v}}}}}" for v in range(1, INSTANCES + 1))
            docs.append(_doc(i, "DestinationRule", (
                f"{{host: svc{s}, trafficPolicy: {{loadBalancer: {{simple: LEAST_REQUEST}}, "
                f"connectionPool: {{tcp: {{maxConnections: 100}}, http: {{http1MaxPendingRequests: 10}}}}, "
                f"outlierDetection: {{consecutive5xxErrors: 5, interval: 10s}}}}, "
                f"subsets: [{subsets}]}}"), annotations="{ratelimit.tether.dev/limit: '100/s'}"))
        else:
            docs.append(_doc(i, "ServiceEntry", (
                f"{{hosts: [ext{i}.example.com], ports: [{{number: 443, name: tls}}], resolution: DNS}}")))
    start = time.perf_counter()
    resources: tuple[Resource, ...] = parse_documents("".join(docs), "bench.yaml").resources
    parsed = time.perf_counter() - start
    return World(resources, workloads), parsed


def main() -> None:
    """Run the benchmark and print the timings."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    start = time.perf_counter()
    world, parsed = build_world(args.workloads, args.resources)
    built = time.perf_counter() - start - parsed
    node = ProxyNode(name="svc0", labels={"version": "v1"})
    times = []
    snapshot = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        snapshot = translate(world, node)
        times.append(time.perf_counter() - t0)
    assert snapshot is not None
    print(f"workloads={args.workloads} resources={len(world.resources)} services={len(world.services)}")
    print(f"parse {parsed * 1000:.0f} ms, world {built * 1000:.0f} ms")
    print(f"translate best {min(times) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms "
          f"(target < 1000 ms): {len(snapshot.virtual_hosts)} virtual hosts, "
          f"{len(snapshot.clusters)} clusters, {len(encode(snapshot)) // 1024} KiB")


if __name__ == "__main__":
    main()
