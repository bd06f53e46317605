"""Render the config templates that live next to this module (``<name>.tmpl``)."""

from __future__ import annotations

import string
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent


def render(template: str, **values: object) -> str:
    """Return template ``template`` (e.g. ``"envoy.yaml"``) with ``$name`` fields filled.

    Raises KeyError naming a field the template uses but ``values`` lacks, and
    FileNotFoundError for an unknown template.
    """
    text = (TEMPLATES / f"{template}.tmpl").read_text(encoding="utf-8")
    return string.Template(text).substitute({k: str(v) for k, v in values.items()})


def write(template: str, directory: Path, **values: object) -> Path:
    """Render ``template`` into ``directory/<template>``; return the written path.

    Raises what ``render`` raises, and OSError when the file cannot be written.
    """
    path = directory / template
    path.write_text(render(template, dir=directory, **values), encoding="utf-8")
    return path
