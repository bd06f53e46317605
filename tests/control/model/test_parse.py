"""The parse API: numbering, locations, files and directories, round trip, the book's listings."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tether.control.model import (
    Duration,
    ParseResult,
    ResourceErrors,
    parse_documents,
    parse_paths,
    resource_to_dict,
)
from tether.control.model.destination_rule import DestinationRuleSpec
from tether.control.model.virtual_service import VirtualServiceSpec

BOOK = Path(__file__).parent.parent / "golden" / "book" / "resources"

RETRY_MANY = """apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: order-retry
spec:
  hosts:
  - order.default.svc.cluster.local
  http:
  - retries:
      attempts: many
    route:
    - destination:
        host: order.default.svc.cluster.local
"""

SE = """apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: upstream}
spec:
  hosts: [upstream]
  ports: [{number: 80, name: http}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: 8080}}]
"""


def errors_of(text: str, source: str = "f.yaml") -> list[str]:
    with pytest.raises(ResourceErrors) as info:
        parse_documents(text, source)
    return str(info.value).splitlines()


def test_error_message_names_file_doc_kind_name_and_path() -> None:
    assert errors_of(RETRY_MANY, "retry.yaml") == [
        'retry.yaml doc 1 VirtualService/order-retry: spec.http[0].retries.attempts: '
        'expected integer, got "many"'
    ]


def test_every_error_is_reported_and_empty_documents_count() -> None:
    text = f"---\n{RETRY_MANY}---\n---\n{RETRY_MANY.replace('order-retry', 'other')}"
    lines = errors_of(text)
    assert [line.split(":")[0] for line in lines] == [
        "f.yaml doc 1 VirtualService/order-retry", "f.yaml doc 3 VirtualService/other"]


def test_the_books_listings_parse() -> None:
    result = parse_paths([str(BOOK / "circuit-breaker.yaml"), str(BOOK / "retry.yaml")])
    dr, vs = result.resources
    assert isinstance(dr.spec, DestinationRuleSpec) and isinstance(vs.spec, VirtualServiceSpec)
    tp = dr.spec.traffic_policy
    assert tp is not None and tp.outlier_detection is not None and tp.connection_pool is not None
    assert tp.outlier_detection.consecutive_errors == 1
    assert tp.outlier_detection.interval == Duration(60_000)
    assert tp.outlier_detection.base_ejection_time == Duration(600_000)
    assert tp.connection_pool.tcp is not None and tp.connection_pool.tcp.max_connections == 1
    (route,) = vs.spec.http
    assert route.retries is not None and route.retries.attempts == 20
    assert route.retries.per_try_timeout == Duration(5000)
    assert route.retries.retry_on == "connect-failure,5xx"
    assert route.timeout == Duration(10_000)
    assert [w.path for w in result.warnings] == ["spec.trafficPolicy.outlierDetection.consecutiveErrors"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "f.yaml doc 1: a document must be a mapping, got list"),
        ("kind: VirtualService\nmetadata: {name: a}\n",
         "f.yaml doc 1 VirtualService/a: apiVersion: required field missing"),
        ("apiVersion: networking.istio.io/v1\nmetadata: {name: a}\n",
         "f.yaml doc 1 ?/a: kind: required field missing"),
        ("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: 12}\n",
         "f.yaml doc 1 Gateway/?: metadata.name: expected a string, got 12"),
        ("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {}\n",
         "f.yaml doc 1 Gateway/?: metadata.name: required field missing"),
        ("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: Bad_Name}\n",
         'f.yaml doc 1 Gateway/Bad_Name: metadata.name: "Bad_Name" is not a valid name'),
        ("apiVersion: networking.istio.io/v2\nkind: Gateway\nmetadata: {name: a}\n",
         "f.yaml doc 1 Gateway/a: apiVersion: Gateway is not served as networking.istio.io/v2; "
         "use networking.istio.io/v1alpha3, v1beta1, v1"),
        ("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: a}\n",
         'f.yaml doc 1 Sidecar/a: kind: unknown kind "Sidecar" in networking.istio.io'),
        ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n",
         'f.yaml doc 1 Deployment/a: apiVersion: unknown API group "apps/v1"'),
        ("apiVersion: authentication.istio.io/v1alpha1\nkind: MeshPolicy\nmetadata: {name: default}\n",
         "f.yaml doc 1 MeshPolicy/default: authentication.istio.io/v1alpha1 MeshPolicy was removed"),
        ("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: a}\nspex: {}\n",
         "f.yaml doc 1 Gateway/a: spex: unknown field"),
        ("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: a, labels: {x: [1]}}\n"
         "spec: {servers: [{port: {number: 80}, hosts: ['*']}]}\n",
         "f.yaml doc 1 Gateway/a: metadata.labels[...]: expected string, got"),
        (f"{SE}---\n{SE}", "f.yaml doc 2 ServiceEntry/upstream: defined twice (first in f.yaml doc 1)"),
    ],
)
def test_document_level_errors(text: str, expected: str) -> None:
    lines = errors_of(text)
    assert any(line.startswith(expected) for line in lines), lines


def test_removed_policy_names_its_replacements() -> None:
    (line,) = errors_of("apiVersion: authentication.istio.io/v1alpha1\nkind: Policy\n"
                        "metadata: {name: default}\nspec: {peers: [{mtls: {}}]}\n")
    assert "PeerAuthentication" in line and "RequestAuthentication" in line


def test_yaml_syntax_error_names_file_and_line() -> None:
    (line,) = errors_of(f"{SE}---\nkind: [unclosed\n", "bad.yaml")
    assert line.startswith("bad.yaml doc 2: YAML syntax error at line 11")


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "se.json"
    path.write_text('[{"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",'
                    ' "metadata": {"name": "a"}, "spec": {"hosts": ["a.com"],'
                    ' "ports": [{"number": 80}], "resolution": "DNS"}}]')
    assert [r.name for r in parse_paths([str(path)]).resources] == ["a"]
    path.write_text('{"apiVersion": ')
    with pytest.raises(ResourceErrors, match=r"se.json doc 1: JSON syntax error at line 1"):
        parse_paths([str(path)])


def test_directory_reads_yaml_files_sorted(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(SE.replace("name: upstream", "name: b"))
    (tmp_path / "a.yml").write_text(SE.replace("name: upstream", "name: a"))
    (tmp_path / "notes.txt").write_text("not yaml: [")
    result = parse_paths([str(tmp_path)])
    assert isinstance(result, ParseResult)
    assert [r.name for r in result.resources] == ["a", "b"]


def test_errors_across_files_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(RETRY_MANY)
    missing = os.path.join(str(tmp_path), "nope.yaml")
    with pytest.raises(ResourceErrors) as info:
        parse_paths([str(tmp_path / "bad.yaml"), missing])
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"{tmp_path / 'bad.yaml'} doc 1 VirtualService/order-retry")
    assert lines[1] == f"{missing}: No such file or directory"


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(SE))
    (r,) = parse_paths(["-"]).resources
    assert r.key == ("ServiceEntry", "default", "upstream")


def test_resource_to_dict_round_trips() -> None:
    (r,) = parse_documents((BOOK / "retry.yaml").read_text(), "retry.yaml").resources
    out = resource_to_dict(r)
    assert out["metadata"] == {"name": "order-retry", "namespace": "default"}
    assert out["spec"]["http"][0]["retries"] == {
        "attempts": 20, "perTryTimeout": "5s", "retryOn": "connect-failure,5xx"}
    import yaml

    (again,) = parse_documents(yaml.safe_dump(out), "again.yaml").resources
    assert again.spec == r.spec


def test_resource_to_dict_without_raw_uses_the_typed_spec() -> None:
    import msgspec

    (r,) = parse_documents(RETRY_MANY.replace("many", "3"), "x.yaml").resources
    bare = msgspec.structs.replace(r, raw={})
    assert resource_to_dict(bare)["spec"] == resource_to_dict(r)["spec"]


EVERY_KIND = """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: pa}
spec: {selector: {matchLabels: {app: a}}, portLevelMtls: {8080: {mode: STRICT}}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap}
spec: {rules: [{from: [{source: {principals: [x]}}]}]}
---
apiVersion: access.smi-spec.io/v1alpha1
kind: TrafficTarget
metadata: {name: tt}
destination: {kind: ServiceAccount, name: a, namespace: default, port: 80}
sources: [{kind: ServiceAccount, name: b}]
---
apiVersion: split.smi-spec.io/v1alpha1
kind: TrafficSplit
metadata: {name: ts, creationTimestamp: 2019-05-20T11:49:22Z}
spec: {service: a, backends: [{service: b, weight: 500m}, {service: c, weight: 1}]}
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: dr, labels: {team: x}, annotations: {note: y}}
spec: {host: a, trafficPolicy: {outlierDetection: {interval: 1m}}}
status: {observedGeneration: 1}
"""


def test_every_kind_round_trips_through_json() -> None:
    import json

    first = parse_documents(EVERY_KIND, "all.yaml").resources
    again = parse_documents(
        "\n---\n".join(json.dumps(resource_to_dict(r)) for r in first), "again.yaml").resources
    assert [(r.key, r.spec, r.labels, r.annotations) for r in again] == [
        (r.key, r.spec, r.labels, r.annotations) for r in first]
    assert "status" not in resource_to_dict(first[-1])
    assert resource_to_dict(first[2])["destination"]["port"] == 80


def test_kubectl_list_documents() -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: networking.istio.io/v1, kind: ServiceEntry, " \
           "metadata: {name: a}, spec: {hosts: [a.com], ports: [{number: 80}], resolution: DNS}}\n" \
           "- {apiVersion: networking.istio.io/v1, kind: ServiceEntry, metadata: {name: b}, spec: {hosts: []}}\n"
    lines = errors_of(text)
    assert lines[0] == "f.yaml doc 1 ServiceEntry/b: items[1].spec.hosts: at least one host is required"
    good = parse_documents(text.split("\n- {apiVersion: networking.istio.io/v1, kind: ServiceEntry, metadata: {name: b}")[0]
                           + "\n", "ok.yaml")
    assert [r.name for r in good.resources] == ["a"]
