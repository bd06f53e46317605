"""SMI kinds in every version: accepted, normalised to one shape, and refused when wrong."""

from __future__ import annotations

import pytest

from tether.control.model import ResourceErrors, parse_documents
from tether.control.model.smi import (
    HTTPRouteGroupSpec,
    SplitBackend,
    TCPRouteSpec,
    TrafficSplitSpec,
    TrafficTargetSpec,
)

SPLIT_V1ALPHA1 = """
apiVersion: split.smi-spec.io/v1alpha1
kind: TrafficSplit
metadata: {name: canary}
spec:
  service: website.default.svc.cluster.local
  backends:
  - {service: website-v1, weight: 500m}
  - {service: website-v2, weight: "1"}
  - {service: website-v3, weight: 2}
"""

SPLIT_V1ALPHA4 = """
apiVersion: split.smi-spec.io/v1alpha4
kind: TrafficSplit
metadata: {name: ab-test}
spec:
  service: website
  matches:
  - kind: HTTPRouteGroup
    name: ab-test
  backends:
  - {service: website-v1, weight: 0}
  - {service: website-v2, weight: 100}
"""


def test_traffic_split_v1alpha1_quantities_become_numbers() -> None:
    (r,) = parse_documents(SPLIT_V1ALPHA1, "s.yaml").resources
    assert isinstance(r.spec, TrafficSplitSpec)
    assert r.spec.backends == (SplitBackend(service="website-v1", weight=0.5),
                               SplitBackend(service="website-v2", weight=1.0),
                               SplitBackend(service="website-v3", weight=2.0))


@pytest.mark.parametrize("version", ["v1alpha2", "v1alpha3", "v1alpha4"])
def test_traffic_split_later_versions(version: str) -> None:
    text = SPLIT_V1ALPHA4.replace("v1alpha4", version)
    if version == "v1alpha2":
        text = text.replace("  matches:\n  - kind: HTTPRouteGroup\n    name: ab-test\n", "")
    (r,) = parse_documents(text, "s.yaml").resources
    assert isinstance(r.spec, TrafficSplitSpec)
    assert [b.weight for b in r.spec.backends] == [0, 100]
    assert len(r.spec.matches) == (0 if version == "v1alpha2" else 1)


TARGETS = {
    "v1alpha1": """
apiVersion: access.smi-spec.io/v1alpha1
kind: TrafficTarget
metadata: {name: path-specific}
destination: {kind: ServiceAccount, name: service-a, namespace: default, port: 8080}
specs:
- kind: HTTPRouteGroup
  name: the-routes
  matches: [metrics]
sources:
- {kind: ServiceAccount, name: prometheus, namespace: default}
""",
    "v1alpha2": """
apiVersion: access.smi-spec.io/v1alpha2
kind: TrafficTarget
metadata: {name: path-specific}
spec:
  destination: {kind: ServiceAccount, name: service-a, namespace: default, port: 8080}
  rules: [{kind: HTTPRouteGroup, name: the-routes, matches: [metrics]}]
  sources: [{kind: ServiceAccount, name: prometheus, namespace: default}]
""",
    "v1alpha3": """
apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {name: path-specific}
spec:
  destination: {kind: ServiceAccount, name: service-a, namespace: default}
  rules: [{kind: HTTPRouteGroup, name: the-routes, matches: [metrics]}]
  sources: [{kind: ServiceAccount, name: prometheus, namespace: default}]
""",
}


@pytest.mark.parametrize("version", sorted(TARGETS))
def test_traffic_target_every_shape_normalises(version: str) -> None:
    (r,) = parse_documents(TARGETS[version], "t.yaml").resources
    assert isinstance(r.spec, TrafficTargetSpec)
    assert r.spec.destination.name == "service-a"
    assert r.spec.destination.port == (None if version == "v1alpha3" else 8080)
    assert [(x.kind, x.name, x.matches) for x in r.spec.rules] == [("HTTPRouteGroup", "the-routes", ("metrics",))]
    assert r.spec.sources[0].name == "prometheus"


GROUPS = {
    "v1alpha1": "matches:\n- {name: metrics, pathRegex: /metrics, methods: [GET]}\n",
    "v1alpha2": ("matches:\n- name: android\n  headers:\n  - user-agent: '.*Android.*'\n"
                 "  - cookie: '^(.*?;)?(type=insider)(;.*)?$'\n"),
    "v1alpha3": "spec:\n  matches:\n  - name: android\n    headers: {user-agent: '.*Android.*'}\n",
    "v1alpha4": "spec:\n  matches:\n  - {name: everything, pathRegex: '.*', methods: ['*']}\n",
}


@pytest.mark.parametrize("version", sorted(GROUPS))
def test_http_route_group_every_shape(version: str) -> None:
    text = (f"apiVersion: specs.smi-spec.io/{version}\nkind: HTTPRouteGroup\n"
            f"metadata: {{name: the-routes}}\n{GROUPS[version]}")
    (r,) = parse_documents(text, "g.yaml").resources
    assert isinstance(r.spec, HTTPRouteGroupSpec)
    if version == "v1alpha2":
        assert set(r.spec.matches[0].headers) == {"user-agent", "cookie"}


def test_tcp_route() -> None:
    (r,) = parse_documents("apiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\nmetadata: {name: db}\n"
                           "spec: {matches: {ports: [3306, 6446]}}\n", "t.yaml").resources
    assert isinstance(r.spec, TCPRouteSpec) and r.spec.matches is not None
    assert r.spec.matches.ports == (3306, 6446)


INVALID: list[tuple[str, str, str]] = [
    (SPLIT_V1ALPHA1.replace("500m", "lots"), "spec.backends[0].weight", "expected a quantity"),
    (SPLIT_V1ALPHA4.replace("weight: 100", "weight: 1.5"), "spec.backends[1].weight",
     "expected integer, got 1.5"),
    (SPLIT_V1ALPHA4.replace("weight: 100", "weight: 0"), "spec.backends", "must not all be zero"),
    (SPLIT_V1ALPHA4.replace("website-v2", "website"), "spec.backends[1].service", "its own root service"),
    (SPLIT_V1ALPHA4.replace("kind: HTTPRouteGroup", "kind: TCPRoute"), "spec.matches[0].kind",
     'expected "HTTPRouteGroup"'),
    (SPLIT_V1ALPHA4.replace("v1alpha4", "v1alpha2"), "spec.matches", "unknown field"),
    (TARGETS["v1alpha3"].replace("kind: ServiceAccount, name: service-a", "kind: Pod, name: service-a"),
     "spec.destination.kind", 'expected "ServiceAccount", got "Pod"'),
    (TARGETS["v1alpha3"].replace("namespace: default}\n  rules", "namespace: default, port: 80}\n  rules"),
     "spec.destination.port", "unknown field"),
    (TARGETS["v1alpha1"].replace("specs:", "rules:"), "rules", "unknown field"),
    ("apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata: {name: g}\n"
     "spec: {matches: [{name: a, pathRegex: '(broken'}]}\n", "spec.matches[0].pathRegex", "invalid regular"),
    ("apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata: {name: g}\n"
     "spec: {matches: [{name: a, methods: [FETCH]}]}\n", "spec.matches[0].methods[0]", "not an HTTP method"),
    ("apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata: {name: g}\n"
     "spec: {matches: [{name: a}, {name: a}]}\n", "spec.matches[1].name", 'duplicate match name "a"'),
]


@pytest.mark.parametrize(("text", "path", "message"), INVALID)
def test_invalid_smi_document_is_refused(text: str, path: str, message: str) -> None:
    with pytest.raises(ResourceErrors) as info:
        parse_documents(text, "bad.yaml")
    errors = info.value.errors
    assert any(e.path == path and message in e.message for e in errors), [str(e) for e in errors]
