"""Reading resource documents: YAML/JSON text → typed, checked ``Resource`` objects."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import yaml

from tether.control.model.annotations import check_annotations
from tether.control.model.errors_text import describe_validation_error
from tether.control.model.findings import Findings, is_dns_label, is_dns_subdomain
from tether.control.model.kinds import KINDS, REMOVED, groups
from tether.control.model.resource import (
    ParseResult,
    ParseWarning,
    Resource,
    ResourceError,
    ResourceErrors,
)
from tether.control.model.values import dec_hook, enc_hook

_RESERVED = frozenset({"apiVersion", "kind", "metadata", "spec", "status"})
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Doc:
    """Errors and warnings of one document (or one item of a ``kind: List``), located."""

    def __init__(self, source: str, doc: int, prefix: str = "") -> None:
        self.source = source
        self.doc = doc
        self.prefix = prefix
        self.kind = ""
        self.name = ""
        self.errors: list[ResourceError] = []
        self.warnings: list[ParseWarning] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(ResourceError(self.source, self.doc, self.kind, self.name,
                                         _join(self.prefix, path), message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(ParseWarning(self.source, self.doc, self.kind, self.name,
                                          _join(self.prefix, path), message))


def _join(prefix: str, path: str) -> str:
    if not prefix:
        return path
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


def _string_map(d: _Doc, path: str, value: object) -> dict[str, str]:
    if value is None:
        return {}
    try:
        return msgspec.convert(value, dict[str, str])
    except msgspec.ValidationError as exc:
        sub, message = describe_validation_error(exc, None, value)
        d.error(_join(path, sub), message)
        return {}


def _decode(d: _Doc, obj: Mapping[str, Any]) -> Resource | None:
    api_version, kind, meta = obj.get("apiVersion"), obj.get("kind"), obj.get("metadata")
    d.kind = kind if isinstance(kind, str) else ""
    d.name = meta.get("name", "") if isinstance(meta, Mapping) else ""
    d.name = d.name if isinstance(d.name, str) else ""
    for key, value in (("apiVersion", api_version), ("kind", kind)):
        if not isinstance(value, str) or not value:
            d.error(key, "required field missing" if value is None else "expected a non-empty string")
    if not isinstance(meta, Mapping):
        d.error("metadata.name", "required field missing")
        return None
    if not d.name:
        raw_name = meta.get("name")
        d.error("metadata.name", "required field missing" if raw_name in (None, "") else
                f"expected a string, got {json.dumps(raw_name, default=str)}")
    if d.errors:
        return None
    assert isinstance(api_version, str) and isinstance(kind, str)
    if not is_dns_subdomain(d.name):
        d.error("metadata.name", f'"{d.name}" is not a valid name (lower case letters, digits, "-", ".")')
    namespace = meta.get("namespace") or "default"
    if not isinstance(namespace, str) or not is_dns_label(namespace):
        d.error("metadata.namespace", f"{json.dumps(namespace, default=str)} is not a valid namespace")
    labels = _string_map(d, "metadata.labels", meta.get("labels"))
    annotations = _string_map(d, "metadata.annotations", meta.get("annotations"))
    for path, message in check_annotations(kind, annotations):
        d.error(path, message)
    group, _, version = api_version.rpartition("/")
    if (group, kind) in REMOVED:
        d.error("", REMOVED[(group, kind)])
        return None
    kd = KINDS.get((group, kind))
    if kd is None:
        if group not in groups():
            known = ", ".join(sorted(groups()))
            d.error("apiVersion", f'unknown API group "{api_version}"; Tether accepts {known}')
        else:
            known = ", ".join(sorted(k for g, k in KINDS if g == group))
            d.error("kind", f'unknown kind "{kind}" in {group}; known kinds: {known}')
        return None
    if version not in kd.spec_types:
        d.error("apiVersion", f'{kind} is not served as {api_version}; use {group}/'
                f'{", ".join(kd.versions)}')
        return None
    if version in kd.top_level:
        prefix = ""
        spec_obj: object = {k: v for k, v in obj.items() if k not in _RESERVED}
    else:
        prefix = "spec"
        spec_obj = obj.get("spec")
        spec_obj = {} if spec_obj is None else spec_obj
        for key in obj:
            if key not in _RESERVED:
                d.error(str(key), "unknown field")
    spec_type = kd.spec_types[version]
    try:
        spec = msgspec.convert(spec_obj, spec_type, dec_hook=dec_hook)
    except msgspec.ValidationError as exc:
        sub, message = describe_validation_error(exc, spec_type, spec_obj)
        d.error(_join(prefix, sub), message)
        return None
    findings = Findings()
    if kd.normalise is not None:
        spec = kd.normalise(version, spec, findings)
    kd.check(spec, findings)
    for path, message in findings.errors:
        d.error(_join(prefix, path), message)
    for path, message in findings.warnings:
        d.warn(_join(prefix, path), message)
    if d.errors:
        return None
    return Resource(api_version=api_version, kind=kind, name=d.name, namespace=namespace,
                    labels=labels, annotations=annotations, spec=spec, raw=dict(obj))


def _load(text: str, source: str) -> tuple[list[object], ResourceError | None]:
    """Return the documents of ``text`` (None for empty ones) and the syntax error that ended it."""
    docs: list[object] = []
    if source.endswith(".json"):
        try:
            value = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as exc:
            return docs, ResourceError(source, 1, "", "", "",
                                       f"JSON syntax error at line {exc.lineno}: {exc.msg}")
        docs.extend(value if isinstance(value, list) else [value])
        return docs, None
    try:
        for item in yaml.load_all(text, Loader=_Loader):
            docs.append(item)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return docs, ResourceError(source, len(docs) + 1, "", "", "",
                                   f"YAML syntax error{where}: {problem}")
    return docs, None


def _parse(
    text: str, source: str
) -> tuple[list[tuple[Resource, str, int]], list[ParseWarning], list[ResourceError]]:
    docs, syntax = _load(text, source)
    resources: list[tuple[Resource, str, int]] = []
    warnings: list[ParseWarning] = []
    errors: list[ResourceError] = []
    for index, obj in enumerate(docs, start=1):
        if obj is None:
            continue
        items: list[tuple[str, object]] = [("", obj)]
        if isinstance(obj, Mapping) and obj.get("kind") == "List" and isinstance(obj.get("items"), list):
            items = [(f"items[{i}]", item) for i, item in enumerate(obj["items"])]  # kubectl's List
        for prefix, item in items:
            d = _Doc(source, index, prefix)
            if not isinstance(item, Mapping):
                d.error("", f"a document must be a mapping, got {type(item).__name__}")
            else:
                r = _decode(d, item)
                if r is not None:
                    resources.append((r, source, index))
            errors.extend(d.errors)
            warnings.extend(d.warnings)
    if syntax is not None:
        errors.append(syntax)
    return resources, warnings, errors


def _result(
    found: list[tuple[Resource, str, int]], warnings: list[ParseWarning], errors: list[ResourceError]
) -> ParseResult:
    seen: dict[tuple[str, str, str], tuple[str, int]] = {}
    for r, source, doc in found:
        if r.key in seen:
            first = seen[r.key]
            errors.append(ResourceError(source, doc, r.kind, r.name, "",
                                        f"defined twice (first in {first[0]} doc {first[1]})"))
        seen.setdefault(r.key, (source, doc))
    if errors:
        raise ResourceErrors(tuple(errors), tuple(warnings))
    return ParseResult(tuple(r for r, _, _ in found), tuple(warnings))


def parse_documents(text: str, source: str) -> ParseResult:
    """Return the resources of a multi-document YAML (or JSON) ``text`` read from ``source``.

    Raises ``ResourceErrors`` holding every error found; nothing is returned then.
    """
    return _result(*_parse(text, source))


def _files(path: str) -> list[str]:
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if n.endswith((".yaml", ".yml", ".json")))
        return [os.path.join(path, n) for n in names]
    return [path]


def parse_paths(paths: Sequence[str]) -> ParseResult:
    """Return the resources of files, directories (``*.yaml``, ``*.yml``, ``*.json``) or ``-`` (stdin).

    Raises ``ResourceErrors`` with every error of every file (a missing file is one).
    """
    found: list[tuple[Resource, str, int]] = []
    warnings: list[ParseWarning] = []
    errors: list[ResourceError] = []
    for path in paths:
        for source in ["-"] if path == "-" else _files(path):
            try:
                text = sys.stdin.read() if source == "-" else _read(source)
            except OSError as exc:
                errors.append(ResourceError(source, 0, "", "", "", exc.strerror or str(exc)))
                continue
            resources, w, e = _parse(text, "stdin" if source == "-" else source)
            found.extend(resources)
            warnings.extend(w)
            errors.extend(e)
    return _result(found, warnings, errors)


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def resource_to_dict(r: Resource) -> dict[str, Any]:
    """Return ``r`` in the user's camelCase shape (``apiVersion``, ``kind``, ``metadata``, ``spec``)."""
    meta: dict[str, Any] = {"name": r.name, "namespace": r.namespace}
    if r.labels:
        meta["labels"] = dict(r.labels)
    if r.annotations:
        meta["annotations"] = dict(r.annotations)
    out: dict[str, Any] = {"apiVersion": r.api_version, "kind": r.kind, "metadata": meta}
    if r.raw:
        for key, value in r.raw.items():
            if key not in ("apiVersion", "kind", "metadata", "status"):
                out[str(key)] = msgspec.to_builtins(value, enc_hook=str, str_keys=True)
    else:
        out["spec"] = msgspec.json.decode(msgspec.json.encode(r.spec, enc_hook=enc_hook))
    return out
