from __future__ import annotations

import pytest

from tether.control.telemetry.views import edge_rows, matches_service, route_rows, stat_rows
from tether.control.telemetry.windows import Totals
from tether.proxy.telemetry.wire import LATENCY_BUCKETS_MS, Aggregate, EdgeKey

SVC = "shipping.default.svc.cluster.local"
ORDER_ID = "cluster.local/ns/default/sa/order"
SHIP_ID = "cluster.local/ns/default/sa/shipping"


def totals(ok: int, failed: int = 0) -> Totals:
    t = Totals()
    latency = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    latency[2] = ok + failed
    t.add(Aggregate(key=EdgeKey(*("x",) * 9), codes={"200": ok, "500": failed}, latency=latency))
    return t


def data() -> dict[EdgeKey, Totals]:
    return {
        # what order's sidecar saw, per route
        EdgeKey("source", "order", "default", ORDER_ID, "shipping", "default", SHIP_ID, SVC, "ship-api"): totals(6, 1),
        EdgeKey("source", "order", "default", ORDER_ID, "shipping", "default", SHIP_ID, SVC, ""): totals(2, 1),
        # what shipping's sidecar saw
        EdgeKey("destination", "order", "default", "unknown", "shipping", "default", SHIP_ID, SVC, ""): totals(8, 2),
        EdgeKey("destination", "unknown", "unknown", "unknown", "shipping", "default", SHIP_ID, SVC, ""): totals(5),
    }


def test_matches_service_by_any_of_its_names() -> None:
    assert matches_service(SVC, "shipping") and matches_service(SVC, "shipping.default") and matches_service(SVC, SVC)
    assert not matches_service(SVC, "ship")


def test_stat_prefers_the_destination_reporter() -> None:
    rows = {r["name"]: r for r in stat_rows(data(), 60.0)}
    assert set(rows) == {"order", "shipping"}
    assert rows["shipping"]["reporter"] == "destination"
    assert rows["shipping"]["requests"] == 15 and rows["shipping"]["failures"] == 2
    assert rows["shipping"]["rps"] == pytest.approx(15 / 60, abs=1e-4)
    assert rows["shipping"]["latency_ms"]["p50"] == pytest.approx(3.5)
    assert rows["order"]["requests"] == 0 and rows["order"]["success_rate"] is None
    assert [r["name"] for r in stat_rows(data(), 60.0, name="order")] == ["order"]
    assert stat_rows(data(), 60.0, namespace="other") == []


def test_stat_by_service() -> None:
    (row,) = stat_rows(data(), 60.0, by="service")
    assert (row["namespace"], row["name"], row["requests"]) == ("default", "shipping", 15)


def test_stat_falls_back_to_callers_without_a_destination_sidecar() -> None:
    only_source = {k: v for k, v in data().items() if k.reporter == "source"}
    rows = {r["name"]: r for r in stat_rows(only_source, 60.0)}
    assert rows["shipping"]["reporter"] == "source" and rows["shipping"]["requests"] == 10


def test_routes_from_the_callers_side() -> None:
    rows = route_rows(data(), 60.0, "shipping")
    assert [(r["route"], r["requests"], r["failures"]) for r in rows] == [("[DEFAULT]", 3, 1), ("ship-api", 7, 1)]
    assert {r["reporter"] for r in rows} == {"source"}
    assert route_rows(data(), 60.0, "nothing") == []
    only_dest = {k: v for k, v in data().items() if k.reporter == "destination"}
    (row,) = route_rows(only_dest, 60.0, "shipping")
    assert row["reporter"] == "destination" and row["requests"] == 15


def test_edges_merge_both_identities() -> None:
    rows = {(r["source"], r["destination"]): r for r in edge_rows(data(), 60.0)}
    edge = rows[("order", "shipping")]
    assert edge["client_id"] == ORDER_ID and edge["server_id"] == SHIP_ID
    assert edge["reporter"] == "destination" and edge["requests"] == 10
    assert rows[("unknown", "shipping")]["client_id"] == "unknown"
    assert edge_rows(data(), 60.0, namespace="elsewhere") == []
