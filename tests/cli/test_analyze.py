"""``tether analyze``: offline on files, and refusals of invalid input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tether.cli.main import main

ROUTES = """\
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: split}
spec:
  hosts: [order.example.com]
  gateways: [ingress]
  http:
  - route:
    - destination: {host: order.example.com, subset: v1}
      weight: 60
    - destination: {host: order.example.com, subset: v2}
      weight: 30
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: order}
spec:
  hosts: [order.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
"""


def test_offline_findings_with_fixes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES)
    assert main(["analyze", "--offline", "-f", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Warning [TTH0102] (VirtualService default/split)" in out
    assert "Warning [TTH0103] (VirtualService default/split) destination weights sum to 90" in out
    assert "Warning [TTH0105] (VirtualService default/split)" in out
    assert "fix: create Gateway 'ingress'" in out
    assert main(["analyze", "--offline", "-f", str(path), "-o", "json"]) == 0
    codes = [f["code"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert codes == ["TTH0102", "TTH0102", "TTH0103", "TTH0105"]


def test_clean_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "entry.yaml"
    path.write_text(ROUTES.split("---\n")[1])
    assert main(["analyze", "--offline", "-f", str(path)]) == 0
    assert "No validation issues found" in capsys.readouterr().out


def test_invalid_input_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(ROUTES.replace("weight: 60", "weight: lots"))
    assert main(["analyze", "--offline", "-f", str(path)]) == 1
    assert "bad.yaml doc 1 VirtualService/split: spec.http[0].route[0].weight" in (
        capsys.readouterr().err
    )
