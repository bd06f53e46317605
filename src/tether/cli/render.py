"""Output helpers shared by the CLI commands: aligned tables, YAML, JSON, ages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import yaml


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Return a kubectl-style table: upper-case headers, columns padded, 3 spaces apart."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [c.ljust(w) for c, w in zip(row, widths, strict=True)]
        lines.append("   ".join(padded).rstrip())
    return "\n".join(lines)


def to_yaml(docs: Sequence[Any]) -> str:
    """Return ``docs`` as multi-document YAML (``---`` between documents), keys in given order."""
    return "---\n".join(
        yaml.safe_dump(d, sort_keys=False, default_flow_style=False, allow_unicode=True)
        for d in docs
    )


def to_json(obj: Any) -> str:
    """Return ``obj`` as indented JSON."""
    return json.dumps(obj, indent=2, sort_keys=False)


def age(seconds: float | None) -> str:
    """Return a short age like kubectl's: ``45s``, ``12m``, ``3h``, ``2d``; ``-`` for None."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def short(text: str, limit: int = 60) -> str:
    """Return ``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
