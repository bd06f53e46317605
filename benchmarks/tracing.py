"""Does tracing cost request latency, and does a dead collector? A side-by-side run.

Run ``.venv/bin/python benchmarks/tracing.py [--requests 3000] [--warmup 300]``. Four static
sidecars in front of the same upstream, all on 127.0.0.1 with ephemeral ports:

- ``off``: no sampling, no exporter;
- ``live``: 100 % sampling, OTLP and Zipkin to a receiver that answers;
- ``dead``: 100 % sampling, both exporters at a port where nothing listens;
- ``stalled``: 100 % sampling, both exporters at a receiver that accepts and never answers.

Each gets the same sequential keep-alive requests; the table shows latency percentiles and
the proxy's RSS before and after (a dead collector must not make memory grow: the span
queues are bounded and drop when full). This is a benchmark, not a test: no pass/fail.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tether.testing.collector import SpanReceiver
from tether.testing.procs import rss_kib
from tether.testing.rawhttp import RawClient
from tether.testing.sidecar import Sidecar, free_port, start_sidecar
from tether.testing.upstream import ScriptableUpstream


def measure(sidecar: Sidecar, count: int, warmup: int) -> list[float]:
    """Return the latency (ms) of ``count`` sequential requests after ``warmup`` unmeasured ones."""
    samples: list[float] = []
    with RawClient(sidecar.outbound) as client:
        for i in range(warmup + count):
            start = time.perf_counter()
            response = client.request("GET", "/fast", [("Host", "upstream")])
            elapsed = (time.perf_counter() - start) * 1000.0
            if response.status != 200:
                raise SystemExit(f"{sidecar.name}: request {i} answered {response.status}")
            if i >= warmup:
                samples.append(elapsed)
    return samples


def percentile(samples: Sequence[float], q: float) -> float:
    """Return the ``q`` quantile (0..1) of ``samples`` (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--setups", default="off,live,dead,stalled", help="which setups to run, in order")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tether-bench-tracing-") as tmp, ScriptableUpstream(record=False) as up, \
            SpanReceiver() as live, SpanReceiver(stall=True) as stalled:
        dead = f"http://127.0.0.1:{free_port()}"
        setups = {
            "off": ["--trace-sampling", "0"],
            "live": ["--trace-sampling", "100", "--trace-otlp", live.url, "--trace-zipkin", live.url + "/api/v2/spans"],
            "dead": ["--trace-sampling", "100", "--trace-otlp", dead, "--trace-zipkin", dead],
            "stalled": ["--trace-sampling", "100", "--trace-otlp", stalled.url, "--trace-zipkin", stalled.url],
        }
        for name in args.setups.split(","):
            flags = setups[name]
            sidecar = start_sidecar(Path(tmp), name, {"upstream": up.port}, up.port,
                                    [*flags, "--access-log", str(Path(tmp) / f"{name}.log")])
            try:
                before = rss_kib(sidecar.proc.pid)
                samples = measure(sidecar, args.requests, args.warmup)
                after = rss_kib(sidecar.proc.pid)
            finally:
                sidecar.proc.stop()
            rows.append((name, statistics.fmean(samples), percentile(samples, 0.5), percentile(samples, 0.99),
                         max(samples), before, after))
    print(f"{args.requests} sequential keep-alive requests per setup, after {args.warmup} unmeasured\n")
    print("| setup | mean ms | p50 ms | p99 ms | max ms | RSS before KiB | RSS after KiB |")
    print("|---|---|---|---|---|---|---|")
    for name, mean, p50, p99, worst, before, after in rows:
        print(f"| {name} | {mean:.3f} | {p50:.3f} | {p99:.3f} | {worst:.3f} | {before} | {after} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
