"""Typed models of the resource kinds Tether accepts, and their validation.

``parse_documents`` / ``parse_paths`` turn YAML into checked ``Resource`` objects or raise
``ResourceErrors`` naming file, document, kind/name and field path of every problem.
"""

from tether.control.model.kinds import KINDS, KindDef
from tether.control.model.parse import parse_documents, parse_paths, resource_to_dict
from tether.control.model.resource import (
    ParseResult,
    ParseWarning,
    Resource,
    ResourceError,
    ResourceErrors,
)
from tether.control.model.values import Duration, Percent

__all__ = [
    "KINDS",
    "Duration",
    "KindDef",
    "ParseResult",
    "ParseWarning",
    "Percent",
    "Resource",
    "ResourceError",
    "ResourceErrors",
    "parse_documents",
    "parse_paths",
    "resource_to_dict",
]
