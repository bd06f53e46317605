from __future__ import annotations

from pathlib import Path

from tether.control.model import parse_documents
from tether.core.identity import ProxyNode
from tether.dashboard.data import DashboardData
from tether.dashboard.pages_config import config, proxies
from tether.testing.clock import FakeClock

from .support import plane

VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: order}
spec:
  hosts: [order]
  http:
  - route:
    - destination: {host: order, subset: v9}
"""


def test_config_lists_resources_and_findings(tmp_path: Path) -> None:
    cp = plane(tmp_path, FakeClock())
    cp.apply(parse_documents(VS, "vs.yaml").resources)
    html = config(DashboardData(cp))
    assert "VirtualService" in html and "subset: v9" in html
    assert "TTH0101" in html and "severity warning" in html  # no workload named order is registered


def test_proxies_show_sync_status(tmp_path: Path) -> None:
    cp = plane(tmp_path, FakeClock())
    cp.register(ProxyNode(name="order"), "127.0.0.1", 15006)
    html = proxies(DashboardData(cp))
    assert 'data-status="NOT SENT"' in html and "127.0.0.1:15006" in html and "order" in html
