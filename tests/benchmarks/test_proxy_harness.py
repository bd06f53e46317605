"""The benchmark harness's pure parts: wrk parsing, config rendering, the report, py-spy text."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.testing.needs import unavailable

# benchmarks/ is a directory of scripts, not an installed package: import its helpers by path.
sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))
import peers.profile as profile
import peers.render as render
import peers.report as report
import peers.wrk as wrk

WRK_C50 = """\
Running 1s test @ http://127.0.0.1:18089/fast
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   211.61us  119.83us   1.87ms   90.08%
    Req/Sec   149.62k    27.00k  170.80k    90.00%
  Latency Distribution
     50%  158.00us
     75%  262.00us
     90%  328.00us
     99%  559.00us
  148988 requests in 1.00s, 21.74MB read
Requests/sec: 148776.44
Transfer/sec:     21.71MB
"""

WRK_ERRORS = """\
Running 10s test @ http://127.0.0.1:40000/fast
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20s   300.00ms   2.00s    70.00%
    Req/Sec    10.00      3.00    20.00     70.00%
  Latency Distribution
     50%    1.10s
     75%    1.30s
     90%    1.80s
     99%    1.00m
  400 requests in 10.10s, 50.00KB read
  Socket errors: connect 0, read 3, write 0, timeout 7
  Non-2xx or 3xx responses: 12
Requests/sec:     39.60
Transfer/sec:      4.95KB
"""


def needs_tool(name: str) -> str:
    """Return the path of tool ``name``; skip the test without it (fail under CI=true)."""
    found = shutil.which(name) or (
        str(Path(sys.executable).parent / name)
        if (Path(sys.executable).parent / name).exists() else None)
    if found is None:
        unavailable(f"{name} is not installed")
    return found


# -- wrk ----------------------------------------------------------------------------------


def test_parse_clean_run() -> None:
    result = wrk.parse(WRK_C50)
    assert result.requests == 148988
    assert result.duration_s == pytest.approx(1.0)
    assert result.rps == pytest.approx(148776.44)
    assert (result.p50_ms, result.p75_ms, result.p90_ms, result.p99_ms) == pytest.approx(
        (0.158, 0.262, 0.328, 0.559))
    assert result.ok


def test_parse_errors_and_large_units() -> None:
    result = wrk.parse(WRK_ERRORS)
    assert result.non_2xx == 12
    assert result.socket_errors == 10
    assert result.p50_ms == pytest.approx(1100.0)
    assert result.p99_ms == pytest.approx(60_000.0)
    assert result.duration_s == pytest.approx(10.1)
    assert not result.ok


@pytest.mark.parametrize("text", ["", "unable to connect to 127.0.0.1:1 Connection refused",
                                  WRK_C50.replace("     99%  559.00us\n", "")])
def test_parse_refuses_incomplete_output(text: str) -> None:
    with pytest.raises(wrk.WrkParseError):
        wrk.parse(text)


def test_unknown_unit_is_an_error() -> None:
    with pytest.raises(wrk.WrkParseError):
        wrk.to_ms("3", "d")


@pytest.mark.parametrize(("connections", "threads"), [(1, "-t1"), (50, "-t2")])
def test_command(connections: int, threads: str) -> None:
    argv = wrk.command("http://127.0.0.1:1/fast", connections, 10.0)
    assert argv[:2] == ["wrk", "--latency"]
    assert threads in argv
    assert f"-c{connections}" in argv
    assert "-d10s" in argv
    assert argv[argv.index("-H") + 1] == "Host: upstream"


# -- config rendering -------------------------------------------------------------------------


def test_render_fills_every_field(tmp_path: Path) -> None:
    values: dict[str, dict[str, object]] = {
        "nginx.conf": {"port": 1001, "status_port": 1002},
        "haproxy.cfg": {"port": 1003, "upstream_port": 1001},
        "envoy.yaml": {"upstream_port": 1001, "access_log": tmp_path / "a.log"},
        "tether.yaml": {"upstream_port": 1001},
    }
    for name, fields in values.items():
        text = render.write(name, tmp_path, **fields).read_text()
        assert "$" not in text, name
        assert "1001" in text, name


def test_render_missing_field_raises(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        render.write("haproxy.cfg", tmp_path, port=1)


def test_envoy_config_matches_tethers_shape(tmp_path: Path) -> None:
    log = tmp_path / "envoy-access.log"
    config: dict[str, Any] = yaml.safe_load(
        render.render("envoy.yaml", upstream_port=4242, access_log=log))
    listener = config["static_resources"]["listeners"][0]
    assert listener["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 0}
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["generate_request_id"] is True
    assert hcm["access_log"][0]["typed_config"]["path"] == str(log)
    route = hcm["route_config"]["virtual_hosts"][0]["routes"][0]["route"]
    assert route == {"cluster": "upstream"}  # no retry policy, no timeout override
    cluster = config["static_resources"]["clusters"][0]
    endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert endpoint["address"]["socket_address"]["port_value"] == 4242


def test_tether_config_is_a_static_service_entry() -> None:
    doc: dict[str, Any] = yaml.safe_load(render.render("tether.yaml", upstream_port=4242))
    assert doc["kind"] == "ServiceEntry"
    assert doc["spec"]["hosts"] == ["upstream"]
    assert doc["spec"]["resolution"] == "STATIC"
    assert doc["spec"]["endpoints"] == [{"address": "127.0.0.1", "ports": {"http": 4242}}]


def test_nginx_config_is_valid(tmp_path: Path) -> None:
    nginx = needs_tool("nginx")
    conf = render.write("nginx.conf", tmp_path, port=1001, status_port=1002)
    argv = [nginx, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "e.log"), "-c", str(conf)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr


def test_haproxy_config_is_valid(tmp_path: Path) -> None:
    haproxy = needs_tool("haproxy")
    conf = render.write("haproxy.cfg", tmp_path, port=1003, upstream_port=1001)
    done = subprocess.run([haproxy, "-c", "-f", str(conf)], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# -- report -----------------------------------------------------------------------------------


def _row(peer: str, connections: int, rps: float, p99: float, rss: int) -> report.Row:
    result = wrk.WrkResult(requests=100, duration_s=1.0, rps=rps, p50_ms=p99 / 2, p75_ms=p99,
                           p90_ms=p99, p99_ms=p99, non_2xx=0, socket_errors=0)
    return report.Row(peer, connections, result, rss, rss * 2, "ok")


def test_table_ratios_are_peer_over_tether() -> None:
    rows = [_row("tether", 50, 3000.0, 10.0, 40_960), _row("envoy", 50, 2000.0, 5.0, 81_920),
            _row("envoy", 1, 900.0, 1.0, 81_920),
            report.Row("haproxy", None, None, None, None, "skipped: haproxy not installed")]
    lines = report.table(rows).splitlines()
    envoy50 = [cell.strip() for cell in lines[3].split("|")]
    assert envoy50[1:4] == ["envoy", "50", "2,000"]
    assert envoy50[8:11] == ["0.67", "0.50", "2.00"]
    envoy1 = [cell.strip() for cell in lines[4].split("|")]
    assert envoy1[8:11] == ["-", "-", "-"]  # no Tether row at c=1
    assert "skipped: haproxy not installed" in lines[5]


def test_ratio_handles_missing_values() -> None:
    assert report.ratio(None, 2.0) == "-"
    assert report.ratio(1.0, 0.0) == "-"
    assert report.ratio(1.0, 3.0) == "0.33"


def test_document_has_facts_table_and_notes() -> None:
    text = report.document("T", [("CPU model", "X")], [_row("tether", 1, 1.0, 1.0, 1)],
                           ["a note"])
    assert text.startswith("## T\n\n- CPU model: X\n")
    assert "| tether | 1 |" in text
    assert text.rstrip().endswith("- a note")


def test_cpu_model() -> None:
    assert report.cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n") == "AMD EPYC 7B13"
    assert report.cpu_model("") == "unknown"


# -- py-spy summary ---------------------------------------------------------------------------


RAW = """\
<module> (tether/__main__.py:5);run (asyncio/runners.py:118);handle (tether/proxy/a.py:10) 6
<module> (tether/__main__.py:5);run (asyncio/runners.py:118);handle (tether/proxy/a.py:12) 2
<module> (tether/__main__.py:5);run (asyncio/runners.py:118);encode (tether/proxy/b.py:3) 2
garbage line
"""


def test_summarize_ranks_functions_by_own_and_total_time() -> None:
    text = profile.summarize(RAW, "title")
    lines = text.splitlines()
    assert lines[0] == "title — 10 samples"
    own_first = lines[lines.index("by own time (the function itself):") + 2]
    assert own_first.split() == ["80.0", "80.0", "handle", "(tether/proxy/a.py)"]
    assert "  100.0  <module> (tether/__main__.py)" in text


def test_summarize_without_samples() -> None:
    assert "no samples" in profile.summarize("", "title")


def test_record_argv() -> None:
    argv = profile.record_argv("py-spy", 42, 10.0, "raw", Path("/tmp/x.raw"))
    assert argv[:4] == ["py-spy", "record", "--pid", "42"]
    assert argv[argv.index("--format") + 1] == "raw"
    assert "--nonblocking" in argv


def test_cell_keeps_the_table_intact() -> None:
    text = report.cell("FAIL to start: a | b\nc" + "x" * 300)
    assert "\n" not in text
    assert "a \\| b c" in text
    assert len(text) <= 241 and text.endswith("...")
