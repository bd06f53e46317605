"""benchmarks/chain.py's pure parts: each chain's config, the check that its policies reached the
snapshot, the median round and the table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec
import pytest

# benchmarks/ is a directory of scripts, not an installed package: import its helpers by path.
sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))
from chain import CHAIN_POLICIES, chain_list, config_text, median_row, missing_policies, table
from peers import report
from peers.wrk import WrkResult

from tether.control.static import load_static_snapshot
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import encode


def result(rps: float, p99: float = 1.0) -> WrkResult:
    return WrkResult(requests=int(rps), duration_s=1.0, rps=rps, p50_ms=0.5, p75_ms=0.6, p90_ms=0.8,
                     p99_ms=p99, non_2xx=0, socket_errors=0)


@pytest.mark.parametrize("chain", sorted(CHAIN_POLICIES))
def test_every_chain_translates_with_all_its_policies(tmp_path: Path, chain: str) -> None:
    path = tmp_path / f"{chain}.yaml"
    path.write_text(config_text(chain, 18080))
    snapshot = load_static_snapshot(str(path), ProxyNode(name="bench"))
    dump = {"snapshot": msgspec.json.decode(encode(snapshot))}
    assert missing_policies(chain, dump) == []
    ports = {e["port"] for c in dump["snapshot"]["clusters"] for e in c.get("endpoints", [])}
    assert ports == {18080}


def test_missing_policies_names_what_is_absent() -> None:
    assert missing_policies("full", {"snapshot": {}}) == ["split", "retry", "pool", "outlier"]
    assert missing_policies("bare", {"snapshot": {}}) == []


def test_chain_list_puts_bare_first() -> None:
    assert chain_list("full,bare") == ["bare", "full"]
    assert chain_list("split") == ["bare", "split"]
    with pytest.raises(argparse.ArgumentTypeError):
        chain_list("bare,turbo")


def test_median_row_and_failures() -> None:
    rows = [report.Row("full", 50, result(r), None, None, "ok") for r in (300.0, 100.0, 200.0)]
    assert median_row(rows).result == result(200.0)
    failed = report.Row("full", 50, None, None, None, "FAIL: wrk")
    assert median_row([*rows, failed]) is failed


def test_table_ratios_and_verdict() -> None:
    rows = {
        ("bare", 50): report.Row("bare", 50, result(1000.0, 2.0), None, None, "ok"),
        ("full", 50): report.Row("full", 50, result(850.0, 3.0), None, None, "ok"),
    }
    text, verdicts = table(rows, ["bare", "full"], [50])
    full_line = next(line for line in text.splitlines() if line.startswith("| full"))
    assert "| 0.85 | 1.50 | 15.0 % | ok |" in full_line
    assert verdicts == ["c=50: full chain keeps 85% of the bare chain's req/s (target ≥ 80%): met"]
