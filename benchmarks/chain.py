"""What the outbound route policies cost: one Tether sidecar with the full chain configured
(retry + timeout + circuit breaker + outlier detection + weighted split) against the same
sidecar with no policies (the bare chain), both in front of one upstream.

Run ``.venv/bin/python benchmarks/chain.py [--connections 1,50] [--duration 5] [--rounds 3]
[--chains bare,split,retry,pool,outlier,full]`` (the single-policy chains show where a cost
comes from).
The harness is benchmarks/proxy.py's (same upstream, same wrk runs, same CPU pinning: the
sidecar under test alone on CPU 0, wrk and the upstream on CPU 1); the two sidecars run side
by side and are measured in turns, ``--rounds`` times per connection count, and the median
round is reported. Target: the full chain keeps at least 80 % of the bare chain's req/s.

The policies are set so they never fire under this load (no failures, limits far above the
load): the cost measured is that of deciding, on every request, not to act.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import shutil
import string
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from peers import counters, procs, report

from proxy import HOST, LOAD_CPU, PATH, PROXY_CPU, REPO, Bench, Running, int_list, shown

TARGET = 0.80

SERVICE = """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: upstream, namespace: default}
spec:
  hosts: [upstream]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports:
  - {number: 80, name: http, protocol: HTTP, targetPort: $upstream_port}
  endpoints:
  - address: 127.0.0.1
    ports: {http: $upstream_port}
    labels: {track: stable, tier: backend}
"""

# Two subsets select the same endpoint, so the 80/20 split draws on every request while all
# of it lands on the one upstream. Limits are far above the benchmark's 50 connections.
RULE = """\
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: upstream, namespace: default}
spec:
  host: upstream
  trafficPolicy:
$policy
  subsets:
  - {name: stable, labels: {track: stable}}
  - {name: backend, labels: {tier: backend}}
"""
POOL = """\
    connectionPool:
      tcp: {maxConnections: 10000, connectTimeout: 2s}
      http: {http1MaxPendingRequests: 10000, http2MaxRequests: 10000, maxRetries: 1000}
"""
OUTLIER = """\
    outlierDetection:
      consecutive5xxErrors: 5
      interval: 10s
      baseEjectionTime: 30s
      maxEjectionPercent: 50
"""
ROUTE = """\
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: upstream, namespace: default}
spec:
  hosts: [upstream]
  http:
  - $policy
    route:
$route
"""
RETRY = """retries: {attempts: 2, perTryTimeout: 2s, retryOn: "connect-failure,5xx"}
    timeout: 5s"""
SPLIT = """\
    - {destination: {host: upstream, subset: stable}, weight: 80}
    - {destination: {host: upstream, subset: backend}, weight: 20}"""
WHOLE = "    - {destination: {host: upstream}}"

# Which policies each chain has: the two the target is about, and one per policy to see
# where a cost comes from (--chains bare,split,retry,pool,outlier,full).
CHAIN_POLICIES = {
    "bare": (),
    "split": ("split",),
    "retry": ("retry",),
    "pool": ("pool",),
    "outlier": ("outlier",),
    "full": ("split", "retry", "pool", "outlier"),
}


def config_text(chain: str, upstream_port: int) -> str:
    """Return the static config of ``chain`` (a key of CHAIN_POLICIES) for the upstream's port.

    Raises KeyError for an unknown chain.
    """
    has = set(CHAIN_POLICIES[chain])
    text = SERVICE
    if has & {"pool", "outlier"} or "split" in has:
        policy = (POOL if "pool" in has else "") + (OUTLIER if "outlier" in has else "")
        text += string.Template(RULE).substitute(policy=policy.rstrip("\n") or "    {}")
    if has & {"split", "retry"}:
        text += string.Template(ROUTE).substitute(policy=RETRY if "retry" in has else "name: all",
                                                  route=SPLIT if "split" in has else WHOLE)
    return string.Template(text).substitute(upstream_port=upstream_port)


def missing_policies(chain: str, dump: dict[str, Any]) -> list[str]:
    """Return the policies of ``chain`` its ``/config_dump`` lacks (empty when all are there)."""
    snapshot = dump.get("snapshot", {})
    routes = [r for vh in snapshot.get("virtual_hosts", []) if "upstream" in vh.get("domains", [])
              for r in vh.get("routes", [])]
    route = routes[0] if routes else {}
    clusters = [c for c in snapshot.get("clusters", []) if c.get("subset")]
    present = {
        "retry": "5xx" in route.get("retry", {}).get("retry_on", ()) and route.get("timeout_ms") == 5000,
        "split": len(route.get("clusters", [])) == 2,
        "pool": bool(clusters) and all("connection_pool" in c for c in clusters),
        "outlier": bool(clusters) and all("outlier_detection" in c for c in clusters),
    }
    return [name for name in CHAIN_POLICIES[chain] if not present[name]]


def chain_list(text: str) -> list[str]:
    """Return the chains named in ``bare,full`` (argparse type), bare first; raises
    ArgumentTypeError for an unknown name."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if set(names) - set(CHAIN_POLICIES):
        raise argparse.ArgumentTypeError(f"expected a comma list of {', '.join(CHAIN_POLICIES)}")
    return ["bare", *(n for n in names if n != "bare")]


class ChainBench(Bench):
    """proxy.py's harness with two Tether sidecars: the bare chain and the full chain."""

    def start_chain(self, chain: str, upstream: int, stack: ExitStack) -> tuple[Running, int]:
        """Start a static-mode sidecar running ``chain``; return it and its admin port.

        Raises PeerStartError when it does not come up.
        """
        config = self.tmp / f"{chain}.yaml"
        config.write_text(config_text(chain, upstream), encoding="utf-8")
        ports_file, access_log = self.tmp / f"{chain}-ports.json", self.tmp / f"{chain}-access.log"
        argv = [sys.executable, "-m", "tether", "proxy", "--name", f"bench-{chain}", "--config", str(config),
                "--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0",
                "--ports-file", str(ports_file), "--access-log", str(access_log)]
        proc, log = self.launch(stack, f"tether-{chain}", argv, PROXY_CPU)
        ports = procs.wait_for(lambda: dict(json.loads(ports_file.read_text())), proc, log, f"tether {chain}")
        procs.wait_for(lambda: procs.http_get(ports["admin"], "/ready")[0] == 200 or None, proc, log,
                       f"tether {chain} /ready")
        status, body = procs.http_get(int(ports["outbound"]), PATH, HOST)
        if status != 200:
            raise procs.PeerStartError(f"{chain}: first request got {status}: {body[:80]!r}")
        running = Running(int(ports["outbound"]), int(ports.get("pid", proc.pid)),
                          lambda: counters.count_lines(access_log))
        return running, int(ports["admin"])


def median_row(rows: Sequence[report.Row]) -> report.Row:
    """Return the row with the median req/s of ``rows`` (a failed row wins, to be seen)."""
    failed = [r for r in rows if r.result is None or not r.check.startswith("ok")]
    if failed:
        return failed[0]
    ordered = sorted(rows, key=lambda r: r.result.rps if r.result else 0.0)
    return ordered[(len(ordered) - 1) // 2]


def table(rows: dict[tuple[str, int], report.Row], chains: Sequence[str],
          connections: Sequence[int]) -> tuple[str, list[str]]:
    """Return the markdown table (each chain ÷ bare per connection count) and the verdict lines."""
    lines = [
        "| chain | conns | req/s | p50 ms | p99 ms | req/s ÷ bare | p99 ÷ bare | throughput cost | check |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    verdicts = []
    for c in connections:
        bare = rows[("bare", c)].result
        for chain in chains:
            row = rows[(chain, c)]
            res = row.result
            cost = "-"
            if chain != "bare" and res is not None and bare is not None and bare.rps:
                cost = f"{(1 - res.rps / bare.rps) * 100:.1f} %"
            if chain == "full" and res is not None and bare is not None and bare.rps:
                ok = res.rps / bare.rps >= TARGET
                verdicts.append(f"c={c}: full chain keeps {res.rps / bare.rps:.0%} of the bare chain's req/s "
                                f"(target ≥ {TARGET:.0%}): {'met' if ok else 'NOT met'}")
            lines.append(" | ".join([
                f"| {chain}", str(c),
                "-" if res is None else f"{res.rps:,.0f}",
                "-" if res is None else f"{res.p50_ms:.3f}",
                "-" if res is None else f"{res.p99_ms:.3f}",
                report.ratio(res.rps if res else None, bare.rps if bare else None),
                report.ratio(res.p99_ms if res else None, bare.p99_ms if bare else None),
                cost, f"{report.cell(row.check)} |",
            ]))
    return "\n".join(lines), verdicts


def measure(bench: ChainBench, args: argparse.Namespace) -> tuple[str, list[str]]:
    """Start the upstream and both sidecars, run the rounds; return (table, notes)."""
    notes: list[str] = []
    with ExitStack() as stack:
        upstream = bench.start_upstream(stack)
        started: dict[str, Running] = {}
        for chain in args.chains:
            try:
                started[chain], admin = bench.start_chain(chain, upstream.port, stack)
            except (procs.PeerStartError, OSError, ValueError) as exc:
                rows = {(ch, c): report.Row(ch, c, None, None, None, f"FAIL to start: {exc}")
                        for ch in args.chains for c in args.connections}
                return table(rows, args.chains, args.connections)[0], notes
            missing = missing_policies(chain, json.loads(procs.http_get(admin, "/config_dump")[1]))
            if missing:
                notes.append(f"the {chain} chain's snapshot lacks: {', '.join(missing)} (not translated?)")
        time.sleep(1.0)
        for chain in args.chains:  # warm both up (pools, caches) before anything is measured
            bench.load(started[chain], max(args.connections), args.warmup)
        samples: dict[tuple[str, int], list[report.Row]] = {}
        for c in args.connections:
            for _ in range(args.rounds):
                for chain in args.chains:
                    row = bench.run(chain, started[chain], upstream, c, None)
                    samples.setdefault((chain, c), []).append(row)
        rows = {key: median_row(found) for key, found in samples.items()}
        for (chain, c), found in sorted(samples.items()):
            rates = ", ".join(f"{r.result.rps:,.0f}" if r.result else "-" for r in found)
            notes.append(f"{chain} c={c} req/s per round: {rates}")
    text, verdicts = table(rows, args.chains, args.connections)
    if args.rounds > 1 and "full" in args.chains:
        verdicts += best_of(samples, args.rounds, args.connections)
    return text, verdicts + notes


def best_of(samples: dict[tuple[str, int], list[report.Row]], rounds: int, connections: Sequence[int]) -> list[str]:
    """Return, per connection count, the full ÷ bare ratio of each chain's best round: on a
    shared machine the least disturbed run is the closest to what the code costs."""
    lines = []
    for c in connections:
        best = {chain: max((r.result.rps for r in samples[(chain, c)] if r.result), default=0.0)
                for chain in ("bare", "full")}
        if best["bare"] and best["full"]:
            lines.append(f"c={c}, best of {rounds} rounds: full {best['full']:,.0f} req/s vs bare "
                         f"{best['bare']:,.0f} req/s = {best['full'] / best['bare']:.0%}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the markdown report and write it to --out; return 0, or 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=chain_list, default=["bare", "full"],
                        help=f"comma list of {', '.join(CHAIN_POLICIES)} (bare is always run)")
    parser.add_argument("--connections", type=int_list, default=[1, 50])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per chain")
    parser.add_argument("--rounds", type=int, default=3, help="runs per chain and connection count")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "chain.md")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed; run `make sysdeps` as root (apt-get install wrk)", file=sys.stderr)
        return 1
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tether-chain-") as tmp:
        bench = ChainBench(args, Path(tmp))
        text, notes = measure(bench, args)
        pinning = (f"sidecar under test on CPU {PROXY_CPU}; wrk and upstream on CPU {LOAD_CPU}"
                   if bench.pin else "none (taskset missing or fewer than 2 CPUs)")
        facts = [
            *report.machine(bench.envoy),
            ("CPU pinning (taskset)", pinning),
            ("upstream", f"{bench.upstream_kind}, keep-alive, fixed small 200"),
            ("load", f"wrk --latency, GET {PATH} with Host: {HOST}, {args.duration:g} s per run, "
                     f"{args.rounds} round(s) per cell (median shown), {args.warmup:g} s warm-up"),
            ("bare chain", "ServiceEntry only: metrics, tracing, access log, routing"),
            ("full chain", "plus VirtualService retries (2, perTryTimeout 2s, 5xx) + timeout 5s + 80/20 "
                           "subset split, DestinationRule connectionPool + outlierDetection"),
            ("command", f"`{shlex.join([shown(Path(sys.executable)), *sys.argv])}`"),
        ]
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"## Outbound chain cost, {stamp}", "", *(f"- {k}: {v}" for k, v in facts), "", text, ""]
    if notes:
        parts += ["Notes:", "", *(f"- {note}" for note in notes), ""]
    document = "\n".join(parts)
    print(document)
    args.out.write_text(document, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
