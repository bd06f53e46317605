"""``tether stat``, ``top``, ``tap``, ``routes``, ``edges``: the mesh's golden metrics from the
control plane's telemetry (no Prometheus needed). Tables by default, ``-o json`` for scripts.
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, TextIO

import msgspec

from tether.cli.render import table, to_json
from tether.client.args import add_control_args, client_from_args
from tether.client.telemetry import EdgesAnswer, Golden, RoutesAnswer, StatAnswer, TelemetryClient
from tether.core.errors import UsageError
from tether.proxy.telemetry.wire import RequestSummary

KINDS = {
    "deploy": "workload", "deployment": "workload", "deployments": "workload", "workload": "workload",
    "workloads": "workload", "wl": "workload", "po": "workload", "pod": "workload", "pods": "workload",
    "svc": "service", "service": "service", "services": "service",
}  # fmt: skip
CLEAR = "\x1b[H\x1b[2J"


def _common(parser: argparse.ArgumentParser, *, window: bool = True, output: bool = True) -> None:
    if window:
        parser.add_argument("-w", "--window", default="1m", choices=("1m", "10m", "1h"), help="time window")
    if output:
        parser.add_argument("-o", "--output", choices=("json", "table"), default="table")
    add_control_args(parser)


def register(subparsers: Any) -> None:
    stat = subparsers.add_parser("stat", help="golden metrics per workload or service")
    stat.add_argument("target", nargs="?", metavar="KIND[/NAME]", help="e.g. deploy/order, svc/shipping, order")
    stat.add_argument("-n", "--namespace")
    _common(stat)
    stat.set_defaults(func=run_stat)

    routes = subparsers.add_parser("routes", help="golden metrics per route of a service")
    routes.add_argument("service", metavar="SVC")
    _common(routes)
    routes.set_defaults(func=run_routes)

    edges = subparsers.add_parser("edges", help="who talks to whom, with identities")
    edges.add_argument("-n", "--namespace")
    _common(edges)
    edges.set_defaults(func=run_edges)

    tap = subparsers.add_parser("tap", help="stream the requests of a service as they happen (Ctrl-C stops)")
    tap.add_argument("service", metavar="SVC")
    _tap_filters(tap)
    tap.add_argument("--max", type=int, default=0, help="stop after this many lines (0 = never)")
    _common(tap, window=False)
    tap.set_defaults(func=run_tap)

    top = subparsers.add_parser("top", help="live table of the busiest paths (Ctrl-C stops)")
    top.add_argument("service", nargs="?", metavar="SVC")
    _tap_filters(top)
    top.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    top.add_argument("--rows", type=int, default=20)
    _common(top, window=False, output=False)
    top.set_defaults(func=run_top)


def _tap_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path", help="path prefix")
    parser.add_argument("--method")
    parser.add_argument("--status", help="code (503) or class (5xx)")


def parse_target(target: str | None) -> tuple[str, str | None]:
    """Return ``(kind, name)`` of ``KIND``, ``KIND/NAME`` or ``NAME`` (a workload); raises UsageError."""
    if not target:
        return "workload", None
    kind, sep, name = target.partition("/")
    if not sep:
        return (KINDS[kind], None) if kind in KINDS else ("workload", kind)
    if kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r}: use deploy/NAME (a workload) or svc/NAME (a service)")
    if not name:
        raise UsageError(f"{target!r}: expected KIND/NAME")
    return KINDS[kind], name


def percent(value: float | None) -> str:
    """Return ``80.00%`` (``-`` when there were no requests)."""
    return "-" if value is None else f"{value * 100:.2f}%"


def millis(value: float | None) -> str:
    """Return a latency like ``3ms`` or ``0.8ms`` (``-`` when unknown)."""
    if value is None:
        return "-"
    return f"{value:.1f}ms" if value < 10 else f"{value:.0f}ms"


def golden_cells(row: Golden) -> list[str]:
    """Return REQUESTS SUCCESS RPS P50 P95 P99 of a row."""
    lat = row.latency_ms
    return [str(row.requests), percent(row.success_rate), f"{row.rps:.2f}rps",
            millis(lat.p50), millis(lat.p95), millis(lat.p99)]


GOLDEN = ["REQUESTS", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95", "LATENCY_P99"]


def stat_table(answer: StatAnswer) -> str:
    """Return the ``tether stat`` table."""
    rows = [[r.name, r.namespace, *golden_cells(r)] for r in answer.rows]
    return table(["NAME", "NAMESPACE", *GOLDEN], rows)


def routes_table(answer: RoutesAnswer) -> str:
    """Return the ``tether routes`` table."""
    rows = [[r.route, r.service, *golden_cells(r)] for r in answer.rows]
    return table(["ROUTE", "SERVICE", *GOLDEN], rows)


def edges_table(answer: EdgesAnswer) -> str:
    """Return the ``tether edges`` table."""
    rows = [[r.source, r.destination, r.source_namespace, r.destination_namespace, r.client_id, r.server_id,
             str(r.requests), percent(r.success_rate)] for r in answer.rows]
    return table(["SRC", "DST", "SRC_NS", "DST_NS", "CLIENT_ID", "SERVER_ID", "REQUESTS", "SUCCESS"], rows)


def _print(args: argparse.Namespace, answer: Any, render: str, empty: str) -> int:
    if args.output == "json":
        print(to_json(msgspec.to_builtins(answer)))
    elif not answer.rows:
        print(empty)
    else:
        print(render)
    return 0


def run_stat(args: argparse.Namespace) -> int:
    """Print golden metrics per workload (or service) over the window."""
    kind, name = parse_target(args.target)
    answer = TelemetryClient(client_from_args(args)).stat(kind, name, args.namespace, args.window)
    return _print(args, answer, stat_table(answer), f"No traffic seen in the last {args.window}.")


def run_routes(args: argparse.Namespace) -> int:
    """Print golden metrics per route of a service."""
    answer = TelemetryClient(client_from_args(args)).routes(args.service, args.window)
    return _print(args, answer, routes_table(answer), f"No requests to {args.service} in the last {args.window}.")


def run_edges(args: argparse.Namespace) -> int:
    """Print who talks to whom."""
    answer = TelemetryClient(client_from_args(args)).edges(args.namespace, args.window)
    return _print(args, answer, edges_table(answer), f"No traffic seen in the last {args.window}.")


def timestamp(wall: float) -> str:
    """Return RFC 3339 UTC with milliseconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall)) + f".{int((wall % 1) * 1000):03d}Z"


def tap_line(r: RequestSummary) -> str:
    """Return one ``tether tap`` line."""
    return (f"{timestamp(r.at)} {r.reporter:<11} {r.source_namespace}/{r.source_workload} -> "
            f"{r.destination_namespace}/{r.destination_workload} :method={r.method} :authority={r.authority} "
            f":path={r.path} :status={r.status} latency={millis(r.duration_ms)} flags={r.flags} "
            f"bytes={r.request_bytes}/{r.response_bytes} id={r.request_id}")


def run_tap(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Print each matching request as it happens until Ctrl-C (or ``--max`` lines)."""
    client = TelemetryClient(client_from_args(args))
    count = 0
    try:
        for summary in client.tap(args.service, args.path, args.method, args.status):
            if args.output == "json":
                out.write(msgspec.json.encode(summary).decode() + "\n")
            else:
                out.write(tap_line(summary) + "\n")
            out.flush()
            count += 1
            if args.max and count >= args.max:
                break
    except KeyboardInterrupt:
        pass
    return 0


class TopBoard:
    """Live per-path counts for ``tether top``; each request counts once though two proxies report it."""

    def __init__(self, seen_limit: int = 10_000) -> None:
        self.rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._seen: OrderedDict[tuple[str, str, str, str], None] = OrderedDict()
        self.seen_limit = seen_limit

    def add(self, r: RequestSummary) -> None:
        """Count ``r`` unless the other side of the same hop was counted already."""
        hop = (r.request_id, r.method, r.path, r.source_workload)
        if r.request_id:
            if hop in self._seen:
                return
            self._seen[hop] = None
            if len(self._seen) > self.seen_limit:
                self._seen.popitem(last=False)
        key = (f"{r.source_namespace}/{r.source_workload}", f"{r.destination_namespace}/{r.destination_workload}",
               r.method, r.path.split("?", 1)[0])
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = {"count": 0, "ok": 0, "best": r.duration_ms, "worst": r.duration_ms, "last": 0.0}
        row["count"] += 1
        row["ok"] += 0 if r.status >= 500 or r.status == 0 else 1
        row["best"] = min(row["best"], r.duration_ms)
        row["worst"] = max(row["worst"], r.duration_ms)
        row["last"] = r.duration_ms

    def render(self, limit: int = 20) -> str:
        """Return the table, busiest first."""
        ordered = sorted(self.rows.items(), key=lambda kv: (-kv[1]["count"], kv[0]))[:limit]
        rows: list[Sequence[Any]] = [
            [src, dst, method, path, v["count"], millis(v["best"]), millis(v["worst"]), millis(v["last"]),
             percent(v["ok"] / v["count"])]
            for (src, dst, method, path), v in ordered
        ]
        return table(["SOURCE", "DESTINATION", "METHOD", "PATH", "COUNT", "BEST", "WORST", "LAST", "SUCCESS"], rows)


def run_top(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Redraw the busiest paths every ``--interval`` seconds until Ctrl-C."""
    client = TelemetryClient(client_from_args(args))
    inbox: queue.Queue[RequestSummary | BaseException] = queue.Queue(maxsize=100_000)

    def read() -> None:
        try:
            for summary in client.tap(args.service, args.path, args.method, args.status):
                inbox.put(summary)
        except BaseException as exc:  # handed to the main thread, which raises it
            inbox.put(exc)

    # A daemon thread: the blocking stream read ends with the process on Ctrl-C.
    threading.Thread(target=read, name="tether-top-tap", daemon=True).start()
    board = TopBoard()
    clear = CLEAR if out.isatty() else ""
    try:
        while True:
            deadline = time.monotonic() + args.interval
            while (left := deadline - time.monotonic()) > 0:
                try:
                    item = inbox.get(timeout=left)
                except queue.Empty:
                    break
                if isinstance(item, BaseException):
                    raise item
                board.add(item)
            stamp = time.strftime("%H:%M:%S")
            out.write(f"{clear}tether top  {stamp}  (Ctrl-C to stop)\n\n{board.render(args.rows)}\n")
            out.flush()
    except KeyboardInterrupt:
        pass
    return 0
