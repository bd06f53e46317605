"""Invalid VirtualServices are refused with the exact field path."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tether.control.model import ResourceErrors, parse_documents


def vs(http: list[dict[str, Any]], **spec: Any) -> str:
    body = {"hosts": ["order"], "http": http, **spec}
    doc = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
           "metadata": {"name": "bad"}, "spec": body}
    return yaml.safe_dump(doc)


DEST = [{"destination": {"host": "order"}}]

INVALID: list[tuple[str, str, str]] = [
    (vs([{"route": DEST, "retries": {"attempts": "many"}}]),
     "spec.http[0].retries.attempts", 'expected integer, got "many"'),
    (vs([{"route": DEST, "retries": {"attempts": -1}}]),
     "spec.http[0].retries.attempts", "must be at least 0, got -1"),
    (vs([{"route": DEST, "retries": {"retryOn": "5xx,sometimes"}}]),
     "spec.http[0].retries.retryOn", 'unknown retry condition "sometimes"'),
    (vs([{"route": DEST, "timeout": "soon"}]),
     "spec.http[0].timeout", 'expected a duration such as "5s" or "100ms", got "soon"'),
    (vs([{"route": DEST, "timeout": 10}]),
     "spec.http[0].timeout", 'expected a duration such as "5s", got 10'),
    (vs([{"route": [{"destination": {"host": "order"}, "weight": 120}]}]),
     "spec.http[0].route[0].weight", "must be between 0 and 100, got 120"),
    (vs([{"route": [{"destination": {"subset": "v1"}}]}]),
     "spec.http[0].route[0].destination.host", "required field missing"),
    (vs([{"route": DEST, "fault": {"abort": {"httpStatus": 700}}}]),
     "spec.http[0].fault.abort.httpStatus", "must be between 200 and 599, got 700"),
    (vs([{"route": DEST, "fault": {"abort": {"httpStatus": 500, "grpcStatus": "UNAVAILABLE"}}}]),
     "spec.http[0].fault.abort", "set exactly one of httpStatus, grpcStatus, http2Error"),
    (vs([{"route": DEST, "fault": {"delay": {"fixedDelay": "1s", "percentage": {"value": 101}}}}]),
     "spec.http[0].fault.delay.percentage.value", "must be between 0 and 100, got 101"),
    (vs([{"route": DEST, "fault": {}}]), "spec.http[0].fault", "set delay, abort or both"),
    (vs([{"route": DEST, "match": [{"uri": {"exact": "/a", "prefix": "/b"}}]}]),
     "spec.http[0].match[0].uri", "set exactly one of exact, prefix, regex (got exact, prefix)"),
    (vs([{"route": DEST, "match": [{"uri": {}}]}]),
     "spec.http[0].match[0].uri", "set exactly one of exact, prefix, regex"),
    (vs([{"route": DEST, "match": [{"headers": {"x": {"regex": "(unclosed"}}}]}]),
     "spec.http[0].match[0].headers.x.regex", "invalid regular expression"),
    (vs([{"route": DEST, "match": [{"uri": {"prefx": "/"}}]}]),
     "spec.http[0].match[0].uri.prefx", 'unknown field (did you mean "prefix"?)'),
    (vs([{"route": DEST, "match": [{"port": 70000}]}]),
     "spec.http[0].match[0].port", "must be between 1 and 65535, got 70000"),
    (vs([{"match": [{"uri": {"prefix": "/"}}]}]),
     "spec.http[0].route", "required: at least one destination"),
    (vs([{"route": DEST, "redirect": {"uri": "/x"}}]),
     "spec.http[0]", "set only one of route, redirect, directResponse"),
    (vs([{"directResponse": {"status": 99}}]),
     "spec.http[0].directResponse.status", "must be between 200 and 599, got 99"),
    (vs([{"delegate": {"name": "other"}}]),
     "spec.http[0].delegate", "delegation is not supported"),
    (vs([{"route": DEST, "mirror": {"host": "a"}, "mirrors": [{"destination": {"host": "b"}}]}]),
     "spec.http[0]", "set only one of mirror, mirrors"),
    (vs([{"route": DEST, "rewrite": {"uri": "/", "uriRegexRewrite": {"match": "a", "rewrite": "b"}}}]),
     "spec.http[0].rewrite", "set only one of uri, uriRegexRewrite"),
    (vs([{"route": DEST}], hosts=[]), "spec.hosts", "at least one host is required"),
    (vs([{"route": DEST}], hosts=["*"]), "spec.hosts[0]", 'the wildcard host "*" is only allowed'),
    (vs([{"route": DEST}], exportTo=["Not_A_Namespace"]),
     "spec.exportTo[0]", 'expected ".", "*" or a namespace name'),
    (vs([{"route": DEST}], hosts="order"), "spec.hosts", 'expected list, got "order"'),
    (vs([{"route": DEST, "corsPolicy": {"allowOrigins": [{}]}}]),
     "spec.http[0].corsPolicy.allowOrigins[0]", "set exactly one of exact, prefix, regex"),
]


@pytest.mark.parametrize(("text", "path", "message"), INVALID)
def test_invalid_virtual_service_is_refused(text: str, path: str, message: str) -> None:
    with pytest.raises(ResourceErrors) as info:
        parse_documents(text, "bad.yaml")
    errors = info.value.errors
    assert any(e.path == path and message in e.message for e in errors), [str(e) for e in errors]
    assert str(info.value).startswith(f"bad.yaml doc 1 VirtualService/bad: {path}: ") or len(errors) > 1


def test_deprecated_abort_percent_is_accepted_with_a_warning() -> None:
    from tether.control.model import parse_documents

    text = """
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: order-fault}
spec:
  hosts: [order]
  http:
  - fault: {abort: {httpStatus: 500, percent: 100}}
    route: [{destination: {host: order}}]
"""
    result = parse_documents(text, "fault.yaml")
    assert any("abort.percent" in str(w) and "deprecated" in str(w) for w in result.warnings)
