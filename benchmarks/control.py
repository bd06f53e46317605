"""Control-plane benchmark: apply -> every proxy ACKed, and translation of a big world.

    .venv/bin/python benchmarks/control.py [--proxies 10,100] [--rounds 20] [--services 0]

Part 1 starts ``tether control`` as its own process (port 0, a temporary data dir), then for
each proxy count opens that many real watch connections from this process (``run_watch``
with a sink that only records) and times, ``--rounds`` times, a change that affects every
proxy: from sending the apply until the control plane reports every proxy ACKed the new
version (polled on /v1/proxies). Proxies belong to ``--services`` services (0: one service
per proxy, the worst case for the push, since no two proxies share a translation).

Part 2 times ``World`` construction, ``translate`` for one node, and a full push
recomputation (``plan_push`` for one proxy per service) for 1,000 workloads x 1,000
resources. Targets: p99 apply->ACK < 1 s at 100 proxies; translate < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tether.client.aio import request_json
from tether.control.model import parse_documents
from tether.control.push.planner import plan_push
from tether.control.translate import translate
from tether.control.world import Workload, World
from tether.core.clock import SYSTEM_CLOCK
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Snapshot, encode
from tether.core.tasks import TaskGroup
from tether.proxy.watch import WatchState, run_watch

VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: bench}}
spec:
  hosts: [svc-0]
  http:
  - timeout: {timeout}ms
    route: [{{destination: {{host: svc-0}}}}]
"""


class Sink:
    def __init__(self) -> None:
        self.version = ""

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        self.version = snapshot.version


def start_control(data: str) -> tuple[subprocess.Popen[bytes], int, str]:
    """Start ``tether control`` on a free port; return the process, its port and admin token."""
    ports = os.path.join(data, "ports.json")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tether", "control", "--port", "0", "--data", data,
         "--ports-file", ports, "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not os.path.exists(ports):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("tether control did not start")
        time.sleep(0.02)
    token = Path(data, "admin.token").read_text().strip()
    return proc, int(json.loads(Path(ports).read_text())["port"]), token


async def acked_versions(port: int) -> dict[str, tuple[str, str]]:
    """Return ``{proxy id: (desired, acked)}`` as the control plane reports them."""
    answer = await request_json("127.0.0.1", port, "GET", "/v1/proxies")
    return {p["id"]: (p["desired_version"], p["acked_version"]) for p in answer["proxies"]}


async def wait_all_acked(port: int, count: int, before: dict[str, tuple[str, str]]) -> None:
    """Wait until ``count`` proxies acked a desired version that differs from ``before``."""
    while True:
        now = await acked_versions(port)
        if len(now) == count and all(
            desired and acked == desired and desired != before.get(pid, ("", ""))[0]
            for pid, (desired, acked) in now.items()
        ):
            return
        await asyncio.sleep(0.002)


async def measure(port: int, token: str, proxies: int, services: int, rounds: int) -> list[float]:
    group = TaskGroup("bench-watchers")
    url = f"http://127.0.0.1:{port}"
    rng = random.Random(7)
    for i in range(proxies):
        name = f"svc-{i % services if services else i}"
        node = ProxyNode(name=name, labels={"replica": str(i)} if not services else {})
        watch = run_watch(url, node, Sink(), inbound_address=f"127.0.0.1:{20000 + i}",
                          clock=SYSTEM_CLOCK, rng=rng, state=WatchState())
        group.spawn(f"watch-{i}", watch)
    try:
        await wait_all_acked(port, proxies, {})
        samples = []
        for r in range(rounds):
            body = {"files": [{"source": "bench.yaml", "text": VS.format(timeout=1000 + r)}]}
            before = await acked_versions(port)
            started = time.perf_counter()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            data = json.dumps(body).encode()
            writer.write(
                b"POST /v1/apply HTTP/1.1\r\nhost: b\r\nconnection: close\r\n"
                b"authorization: Bearer " + token.encode() + b"\r\n"
                b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(data), data)
            )
            await writer.drain()
            await reader.read()
            writer.close()
            await wait_all_acked(port, proxies, before)
            samples.append(time.perf_counter() - started)
        return samples
    finally:
        await group.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def big_world(workloads: int, resources: int) -> tuple[World, list[ProxyNode]]:
    services = max(1, workloads // 5)
    wl = tuple(
        Workload(ProxyNode(name=f"s{i % services}", labels={"version": f"v{i // services % 5 + 1}"}),
                 f"10.0.{i // 256 % 256}.{i % 256}", 15006)
        for i in range(workloads)
    )
    docs = []
    for i in range(resources):
        s = (i // 2) % services
        if i % 2 == 0:
            docs.append(
                f"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: vs{i}}}\n"
                f"spec:\n  hosts: [s{s}]\n  http:\n  - match: [{{headers: {{x-canary: {{exact: 'yes'}}}}}}]\n"
                f"    route: [{{destination: {{host: s{s}, subset: v2}}}}]\n"
                f"  - timeout: 2s\n    route:\n    - {{destination: {{host: s{s}, subset: v1}}, weight: 90}}\n"
                f"    - {{destination: {{host: s{s}, subset: v2}}, weight: 10}}\n"
            )
        else:
            docs.append(
                f"apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: dr{i}}}\n"
                f"spec:\n  host: s{s}\n  subsets:\n  - {{name: v1, labels: {{version: v1}}}}\n"
                f"  - {{name: v2, labels: {{version: v2}}}}\n"
            )
    parsed = parse_documents("---\n".join(docs), "bench.yaml").resources
    nodes = [ProxyNode(name=f"s{s}", labels={"version": "v1"}) for s in range(services)]
    return World(resources=parsed, workloads=wl), nodes


def translation(workloads: int, resources: int) -> list[tuple[str, str]]:
    world, nodes = big_world(workloads, resources)
    started = time.perf_counter()
    world = World(resources=world.resources, workloads=world.workloads)
    built = time.perf_counter() - started
    started = time.perf_counter()
    snapshot = translate(world, nodes[0])
    one = time.perf_counter() - started
    world = World(resources=world.resources, workloads=world.workloads)
    started = time.perf_counter()
    to_send, _ = plan_push(world, ((str(i), n) for i, n in enumerate(nodes)), {}, translate)
    everyone = time.perf_counter() - started
    return [
        ("world build", f"{built * 1000:.0f} ms"),
        ("translate, one node", f"{one * 1000:.0f} ms ({len(encode(snapshot)) // 1024} KiB)"),
        (f"recompute, {len(to_send)} distinct nodes", f"{everyone * 1000:.0f} ms"),
    ]


async def push_part(counts: list[int], rounds: int, services: int) -> list[tuple[str, ...]]:
    rows = []
    for count in counts:
        with tempfile.TemporaryDirectory() as data:  # a fresh control plane per size
            proc, port, token = start_control(data)
            try:
                samples = await measure(port, token, count, services, rounds)
            finally:
                proc.terminate()
                proc.wait(10)
        ms = [f"{percentile(samples, p) * 1000:.0f} ms" for p in (50, 90, 99)]
        rows.append((str(count), *ms, f"{max(samples) * 1000:.0f} ms",
                     f"{statistics.mean(samples) * 1000:.0f} ms"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proxies", default="10,100")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--services", type=int, default=0)
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--resources", type=int, default=1000)
    args = parser.parse_args()
    counts = [int(c) for c in args.proxies.split(",") if c]
    import uvloop

    rows = uvloop.run(push_part(counts, args.rounds, args.services))
    print(f"apply -> all proxies ACKed ({args.rounds} rounds, "
          f"{'one service per proxy' if not args.services else f'{args.services} services'})")
    header = ("proxies", "p50", "p90", "p99", "max", "mean")
    print("  ".join(f"{h:>8}" for h in header))
    for row in rows:
        print("  ".join(f"{c:>8}" for c in row))
    print()
    print(f"translation, {args.workloads} workloads x {args.resources} resources")
    for name, value in translation(args.workloads, args.resources):
        print(f"  {name:<32} {value}")


if __name__ == "__main__":
    main()
