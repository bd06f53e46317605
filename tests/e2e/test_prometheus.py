"""Real Prometheus scraping real sidecars (issue 6): the example scrape config and the Grafana
dashboards' queries give the numbers of a known traffic pattern.

A control plane, two sidecars (``order`` calls ``shipping``, both in front of one scriptable
app) with a DestinationRule limiting shipping's connection pool, and Prometheus on
127.0.0.1 scraping both admin ports every second. The pattern, sent twice (a counter
that is born with a value shows no increase to ``rate``): successes, one 500, one 503
that Istio's default retry policy retries into a 200, and parallel slow calls of which
the pool refuses some at once (503 ``UO``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.testing.mesh import Mesh
from tether.testing.needs import unavailable
from tether.testing.procs import wait_until
from tether.testing.rawhttp import http_request
from tether.testing.sidecar import free_port
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA = ROOT / "deploy" / "grafana"
SERVICE = "shipping.default.svc.cluster.local"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
POOL_LIMIT = f"""\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: shipping-pool}}
spec:
  host: {SERVICE}
  trafficPolicy:
    connectionPool:
      tcp: {{maxConnections: 1}}
      http: {{http1MaxPendingRequests: 1, http2MaxRequests: 1}}
"""
OK_CALLS, PARALLEL = 5, 6


def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        unavailable("prometheus is not installed (make sysdeps installs it)")
    return path


class Prometheus:
    """A Prometheus process on 127.0.0.1 with a temporary storage dir; ``stop()`` ends it."""

    def __init__(self, tmp: Path, targets: list[str]) -> None:
        config = yaml.safe_load(EXAMPLE.read_text())
        config["global"]["scrape_interval"] = "1s"
        job = config["scrape_configs"][0]
        job.update(scrape_interval="1s", scrape_timeout="1s", static_configs=[{"targets": targets}])
        job.pop("file_sd_configs", None)
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.log = (tmp / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [prometheus_binary(), f"--config.file={tmp / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        assert wait_until(self.ready, 20), self.describe()

    def ready(self) -> bool:
        try:
            with OPENER.open(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as reply:
                return bool(reply.status == 200)
        except OSError:
            return self.proc.poll() is not None  # gone: stop waiting, the assert shows the log

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with OPENER.open(url, timeout=10) as reply:
            answer = json.loads(reply.read())
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Return the instant vector ``expr`` evaluates to (raises AssertionError on an error)."""
        data = self.api("query", query=expr)
        assert data["resultType"] in ("vector", "scalar"), data
        return list(data["result"]) if data["resultType"] == "vector" else [{"metric": {}, "value": data["result"]}]

    def value(self, expr: str) -> float | None:
        """Return the single value of ``expr`` (None for an empty result)."""
        result = self.query(expr)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def describe(self) -> str:
        self.log.flush()
        return (Path(self.log.name).read_text())[-3000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


class Pattern:
    """The mesh, its app and what the pattern was answered so far."""

    def __init__(self, mesh: Mesh, app: ScriptableUpstream) -> None:
        self.mesh, self.app = mesh, app
        self.refused = 0
        self.parallel_ok = 0

    def get(self, path: str) -> int:
        port = self.mesh.proxies["order"].port("outbound")
        return http_request(port, "GET", path, [("Host", "shipping")], timeout=20).status

    def send(self) -> None:
        for i in range(OK_CALLS):
            assert self.get(f"/ok/{i}") == 200
        assert self.get("/status/500") == 500  # not retried: Istio's default retries 503 only
        self.app.fail_next(1, 503)
        assert self.get("/retried") == 200  # one 503 at shipping, retried by order's sidecar
        barrier = threading.Barrier(PARALLEL)

        def one(i: int) -> int:
            barrier.wait()
            return self.get("/delay/600")

        with ThreadPoolExecutor(PARALLEL) as pool:
            statuses = list(pool.map(one, range(PARALLEL)))
        assert set(statuses) <= {200, 503} and 503 in statuses, statuses
        self.refused += statuses.count(503)
        self.parallel_ok += statuses.count(200)


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Prometheus, Pattern]]:
    prometheus_binary()
    tmp = tmp_path_factory.mktemp("prometheus")
    mesh = Mesh(tmp)
    prom: Prometheus | None = None
    try:
        with ScriptableUpstream() as app:
            mesh.start_control()
            for name in ("shipping", "order"):
                mesh.start_proxy(name, app.port)
            mesh.client().apply([("pool.yaml", POOL_LIMIT)])
            assert wait_until(lambda: mesh.all_synced(2), 15), mesh.status()
            pattern = Pattern(mesh, app)
            admins = [f"127.0.0.1:{mesh.proxies[n].port('admin')}" for n in ("order", "shipping")]
            prom = Prometheus(tmp, admins)
            assert wait_until(lambda: prom is not None and prom.value("sum(up)") == 2, 15), prom.describe()
            pattern.send()
            first = pattern.refused
            assert wait_until(lambda: prom is not None and prom.value(
                'sum(istio_requests_total{reporter="source",response_flags="UO"})') == first, 15), prom.describe()
            pattern.send()
            yield prom, pattern
    finally:
        if prom is not None:
            prom.stop()
        mesh.close()


def test_prometheus_counts_the_pattern(scraped: tuple[Prometheus, Pattern]) -> None:
    prom, pattern = scraped
    src, dst = 'reporter="source"', 'reporter="destination"'
    ok = 2 * (OK_CALLS + 1) + pattern.parallel_ok

    def settled() -> bool:
        return (prom.value(f'sum(istio_requests_total{{{src},response_flags="UO"}})') == pattern.refused
                and prom.value(f'sum(istio_requests_total{{{src},response_code="200"}})') == ok
                and prom.value(f'sum(istio_requests_total{{{dst}}})') == ok + 2 + 2)  # + the 500s, retried 503s
    assert wait_until(settled, 15), prom.query("istio_requests_total")

    # The brief's query, and the pattern's other facts, as PromQL sees them.
    assert (prom.value('sum(rate(istio_requests_total{response_code="500"}[1m]))') or 0) > 0
    assert prom.value(f'sum(istio_requests_total{{{src},response_code="500"}})') == 2
    assert prom.value(f'sum(istio_requests_total{{{dst},response_code="500"}})') == 2
    # The retried 503s: seen by shipping's sidecar, hidden from order's app by the retry.
    assert prom.value(f'sum(istio_requests_total{{{dst},response_code="503"}})') == 2
    assert prom.value(f'sum(istio_requests_total{{{src},response_code="503",response_flags!="UO"}})') is None
    # Overflow is refused in order's sidecar: it never reaches shipping.
    assert prom.value(f'sum(istio_requests_total{{{src},response_code="503",response_flags="UO"}})') == pattern.refused
    labels = prom.query(f'istio_requests_total{{{src},response_flags="UO"}}')[0]["metric"]
    assert (labels["source_workload"], labels["destination_service"]) == ("order", SERVICE), labels
    p99 = prom.value(f"histogram_quantile(0.99, sum by (le)(rate(istio_request_duration_milliseconds_bucket"
                     f"{{{dst},destination_service=\"{SERVICE}\"}}[1m])))")
    assert p99 is not None and p99 > 100, "the slow calls (600 ms) are in the tail"


def dashboard_queries() -> list[tuple[str, str, str]]:
    """Return (file, panel title, expr) for every query of every committed dashboard."""
    found = []
    for path in sorted(GRAFANA.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for t in panel["targets"]:
                found.append((path.name, panel["title"], t["expr"]))
    return found


def substitute(expr: str) -> str:
    values = {"$__rate_interval": "1m", "$service": SERVICE, "$workload": "shipping", "$namespace": "default"}
    for name, value in values.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, expr
    return expr


def test_every_dashboard_query_evaluates_with_data(scraped: tuple[Prometheus, Pattern]) -> None:
    prom, _ = scraped
    queries = dashboard_queries()
    assert len(queries) >= 25
    empty = []
    for name, title, expr in queries:
        if not prom.query(substitute(expr)):
            empty.append(f"{name}: {title}: {expr}")
    # Only the workload's outbound panels may be empty: shipping calls nobody.
    assert all("Outgoing" in e for e in empty), "\n".join(empty)


def test_dashboard_variables_list_the_mesh(scraped: tuple[Prometheus, Pattern]) -> None:
    prom, _ = scraped
    pattern = re.compile(r"label_values\((?:(\w+)(\{.*\})?, )?(\w+)\)")
    seen = {}
    for path in sorted(GRAFANA.glob("*.json")):
        for var in json.loads(path.read_text())["templating"]["list"]:
            if var["type"] != "query":
                continue
            match = pattern.fullmatch(var["definition"])
            assert match, var["definition"]
            selector = substitute((match[1] or "") + (match[2] or ""))
            seen[var["name"]] = prom.api(f"label/{match[3]}/values", **{"match[]": selector})
    assert SERVICE in seen["service"]
    assert "shipping" in seen["workload"]
    assert "default" in seen["namespace"]


def test_the_committed_dashboards_are_generated() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("grafana_generate", GRAFANA / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, build in module.DASHBOARDS.items():
        assert (GRAFANA / name).read_text() == module.render(build), f"run python deploy/grafana/generate.py ({name})"


def test_example_config_is_valid(tmp_path: Path, promtool: str) -> None:
    done = subprocess.run([promtool, "check", "config", str(EXAMPLE)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    job = yaml.safe_load(EXAMPLE.read_text())["scrape_configs"][0]
    assert job["metrics_path"] == "/stats/prometheus"
