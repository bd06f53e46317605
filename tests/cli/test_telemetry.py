from __future__ import annotations

import argparse
import io

import pytest

from tether.cli.telemetry import (
    TopBoard,
    edges_table,
    millis,
    parse_target,
    percent,
    routes_table,
    stat_table,
    tap_line,
)
from tether.client.telemetry import EdgeRow, EdgesAnswer, Latency, RouteRow, RoutesAnswer, StatAnswer, StatRow
from tether.core.errors import UsageError
from tether.proxy.telemetry.wire import RequestSummary


@pytest.mark.parametrize(("target", "expected"), [
    (None, ("workload", None)),
    ("deploy", ("workload", None)),
    ("svc", ("service", None)),
    ("order", ("workload", "order")),
    ("deploy/order", ("workload", "order")),
    ("po/order", ("workload", "order")),
    ("svc/shipping", ("service", "shipping")),
    ("service/shipping", ("service", "shipping")),
])
def test_parse_target(target: str | None, expected: tuple[str, str | None]) -> None:
    assert parse_target(target) == expected


@pytest.mark.parametrize("target", ["widget/x", "deploy/"])
def test_parse_target_refuses(target: str) -> None:
    with pytest.raises(UsageError):
        parse_target(target)


def test_cells() -> None:
    assert percent(None) == "-" and percent(0.8) == "80.00%"
    assert millis(None) == "-" and millis(0.8) == "0.8ms" and millis(25.4) == "25ms"


def test_stat_table() -> None:
    answer = StatAnswer(window="1m", time=0.0, rows=(
        StatRow(namespace="default", name="shipping", requests=10, success_rate=0.8, rps=0.1667,
                latency_ms=Latency(p50=1.5, p95=4.0, p99=48.0)),
        StatRow(namespace="default", name="order", requests=0),
    ))
    lines = stat_table(answer).splitlines()
    assert lines[0].split() == ["NAME", "NAMESPACE", "REQUESTS", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95",
                                "LATENCY_P99"]
    assert lines[1].split() == ["shipping", "default", "10", "80.00%", "0.17rps", "1.5ms", "4.0ms", "48ms"]
    assert lines[2].split() == ["order", "default", "0", "-", "0.00rps", "-", "-", "-"]


def test_routes_and_edges_tables() -> None:
    routes = RoutesAnswer(window="1m", time=0.0, service="shipping", rows=(
        RouteRow(route="[DEFAULT]", service="shipping.default.svc.cluster.local", requests=3, success_rate=1.0),))
    assert routes_table(routes).splitlines()[1].split()[:4] == [
        "[DEFAULT]", "shipping.default.svc.cluster.local", "3", "100.00%"]
    edges = EdgesAnswer(window="1m", time=0.0, rows=(
        EdgeRow(source="order", source_namespace="default", destination="shipping", destination_namespace="default",
                client_id="cluster.local/ns/default/sa/order", server_id="cluster.local/ns/default/sa/shipping",
                requests=4, success_rate=0.5),))
    header, row = edges_table(edges).splitlines()
    assert header.split() == ["SRC", "DST", "SRC_NS", "DST_NS", "CLIENT_ID", "SERVER_ID", "REQUESTS", "SUCCESS"]
    assert row.split() == ["order", "shipping", "default", "default", "cluster.local/ns/default/sa/order",
                           "cluster.local/ns/default/sa/shipping", "4", "50.00%"]


def summary(reporter: str, rid: str = "r1", status: int = 200, ms: float = 2.0, path: str = "/x") -> RequestSummary:
    return RequestSummary(1_700_000_000.5, reporter, "GET", "shipping", path, status, "-", ms, "order", "default",
                          "shipping", "default", "shipping.default.svc.cluster.local", request_id=rid,
                          request_bytes=1, response_bytes=2)


def test_tap_line() -> None:
    line = tap_line(summary("source"))
    assert line.startswith("2023-11-14T22:13:20.500Z source ")
    assert "default/order -> default/shipping" in line
    assert ":method=GET :authority=shipping :path=/x :status=200 latency=2.0ms flags=- bytes=1/2 id=r1" in line


def test_top_counts_each_hop_once() -> None:
    board = TopBoard()
    board.add(summary("source", "r1", ms=3.0))
    board.add(summary("destination", "r1", ms=2.0))  # the same request seen by the other sidecar
    board.add(summary("source", "r2", status=503, ms=9.0))
    board.add(summary("source", "", ms=1.0, path="/y?q=1"))  # no id: counted
    lines = board.render().splitlines()
    assert lines[0].split() == ["SOURCE", "DESTINATION", "METHOD", "PATH", "COUNT", "BEST", "WORST", "LAST",
                                "SUCCESS"]
    assert lines[1].split() == ["default/order", "default/shipping", "GET", "/x", "2", "3.0ms", "9.0ms", "9.0ms",
                                "50.00%"]
    assert lines[2].split()[3:5] == ["/y", "1"]


def test_top_forgets_old_ids_within_its_bound() -> None:
    board = TopBoard(seen_limit=1)
    board.add(summary("source", "r1"))
    board.add(summary("source", "r2"))
    board.add(summary("destination", "r1"))  # r1 was forgotten: counted again, memory stays bounded
    assert board.rows[("default/order", "default/shipping", "GET", "/x")]["count"] == 3


def test_tap_stops_after_max_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    from tether.cli import telemetry

    class FakeClient:
        def __init__(self, client: object) -> None:
            pass

        def tap(self, *args: object) -> object:
            yield summary("source", "r1")
            yield summary("source", "r2")
            raise AssertionError("read past --max")

    monkeypatch.setattr(telemetry, "TelemetryClient", FakeClient)
    out = io.StringIO()
    args = argparse.Namespace(service="shipping", path=None, method=None, status=None, max=2, output="json",
                              control="http://127.0.0.1:1", token_file=None)
    assert telemetry.run_tap(args, out) == 0
    assert [line.count('"request_id"') for line in out.getvalue().splitlines()] == [1, 1]
