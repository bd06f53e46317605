"""What does mTLS between sidecars cost? req/s and latency with mTLS on vs off.

Run ``.venv/bin/python benchmarks/mtls.py [--duration 8] [--connections 16] [--rounds 3]``.
On 127.0.0.1 with ephemeral ports: ``tether control`` (the CA), the scriptable upstream (its
own process), sidecar B (``shipping``, in front of the upstream) and sidecar A (``client``),
both with join tokens. wrk drives A's outbound listener:

    wrk → sidecar A outbound → (mTLS | plaintext) → sidecar B inbound → upstream

``mtls`` is the mesh's default (auto mTLS); ``plaintext`` is the same processes after a
mesh-wide ``PeerAuthentication`` DISABLE (auto mTLS then sends plaintext). Rounds alternate
the two so drift hits both; the table shows the median round. Connections from A to B are
pooled (keep-alive), so the TLS handshake is paid per pooled connection, not per request.
This is a benchmark, not a test: no pass/fail.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from peers import procs, wrk

from tether.client.http import ControlClient

DISABLE_ALL = """\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: tether-system}
spec:
  mtls: {mode: DISABLE}
"""


def _ports(path: Path, proc: subprocess.Popen[bytes], log: Path, what: str) -> dict[str, int]:
    def read() -> dict[str, int] | None:
        return json.loads(path.read_text()) if path.exists() else None

    return procs.wait_for(read, proc, log, what)


class Setup:
    """The processes of one benchmark run; ``close()`` stops them."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        tether = [sys.executable, "-m", "tether"]
        log = tmp / "control.log"
        control = self._start([*tether, "control", "--port", "0", "--data", str(tmp / "data"), "--ports-file",
                               str(tmp / "control.ports"), "--heartbeat-interval", "1"], log)
        self.url = f"http://127.0.0.1:{_ports(tmp / 'control.ports', control, log, 'control')['port']}"
        self.admin = ControlClient(self.url, (tmp / "data" / "admin.token").read_text().strip())
        log = tmp / "upstream.log"
        upstream = self._start([sys.executable, "-m", "tether.testing.upstream", "--port", "0", "--ports-file",
                                str(tmp / "upstream.ports")], log)
        app = _ports(tmp / "upstream.ports", upstream, log, "upstream")["port"]
        self.sidecars = {name: self._sidecar(tether, name, app) for name in ("shipping", "client")}

    def _start(self, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
        proc = procs.start(argv, log)
        self.procs.append(proc)
        return proc

    def _sidecar(self, tether: list[str], name: str, app: int) -> dict[str, int]:
        token = self.admin.request("POST", "/v1/tokens", {"name": name})["token"]
        (self.tmp / f"{name}.token").write_text(token)
        log = self.tmp / f"{name}.log"
        proc = self._start([*tether, "proxy", "--name", name, "--control", self.url, "--token-file",
                            str(self.tmp / f"{name}.token"), "--app-port", str(app), "--inbound-port", "0",
                            "--outbound-port", "0", "--admin-port", "0", "--access-log", "/dev/null",
                            "--ports-file", str(self.tmp / f"{name}.ports")], log)
        ports = _ports(self.tmp / f"{name}.ports", proc, log, name)
        procs.wait_for(lambda: procs.http_get(ports["admin"], "/ready")[0] == 200 or None, proc, log, name)
        return ports

    def security(self) -> str:
        """Return the ``connection_security_policy`` B reported last (``mutual_tls`` or ``none``)."""
        _, text = procs.http_get(self.sidecars["shipping"]["admin"], "/stats/prometheus")
        counts: dict[str, int] = {}
        for line in text.splitlines():
            if line.startswith("istio_requests_total{") and 'source_workload="client"' in line:
                policy = line.split('connection_security_policy="')[1].split('"')[0]
                counts[policy] = counts.get(policy, 0) + int(float(line.rsplit(" ", 1)[1]))
        return json.dumps(counts, sort_keys=True)

    def close(self) -> None:
        for proc in reversed(self.procs):
            procs.stop(proc)


def run_wrk(port: int, connections: int, duration: float) -> tuple[wrk.WrkResult, str]:
    argv = wrk.command(f"http://127.0.0.1:{port}/fast", connections, duration, host="shipping")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30, check=False)
    return wrk.parse(done.stdout), shlex.join(argv)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed", file=sys.stderr)
        return 1
    results: dict[str, list[wrk.WrkResult]] = {"mtls": [], "plaintext": []}
    seen: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="tether-bench-mtls-") as tmp:
        setup = Setup(Path(tmp))
        try:
            outbound = setup.sidecars["client"]["outbound"]
            run_wrk(outbound, args.connections, 2)  # warm-up (pools, certificates)
            command = ""
            for _ in range(args.rounds):
                for mode in ("mtls", "plaintext"):
                    if mode == "plaintext":
                        setup.admin.apply([("disable.yaml", DISABLE_ALL)])
                    else:
                        setup.admin.delete_files([("disable.yaml", DISABLE_ALL)])
                    run_wrk(outbound, args.connections, 1)  # settle on the new policy
                    result, command = run_wrk(outbound, args.connections, args.duration)
                    if not result.ok:
                        print(f"{mode}: errors (non-2xx {result.non_2xx}, socket {result.socket_errors})",
                              file=sys.stderr)
                    results[mode].append(result)
                    seen[mode] = setup.security()
        finally:
            setup.close()
    print(f"wrk → sidecar A outbound → sidecar B inbound → upstream; {args.rounds} alternating rounds, median shown")
    print(f"command per run: {command}\n")
    print("| mode | req/s | p50 ms | p99 ms | B saw (connection_security_policy: requests) |")
    print("|---|---|---|---|---|")
    for mode, runs in results.items():
        rps = statistics.median(r.rps for r in runs)
        p50 = statistics.median(r.p50_ms for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        print(f"| {mode} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {seen.get(mode, '')} |")
    mtls, plain = (statistics.median(r.rps for r in results[m]) for m in ("mtls", "plaintext"))
    print(f"\nmTLS throughput is {100.0 * mtls / plain:.0f} % of plaintext")
    return 0


if __name__ == "__main__":
    sys.exit(main())
