"""The proxy's static mode: a snapshot from a YAML file, with no control plane."""

from __future__ import annotations

import os

from tether.control.model import parse_paths
from tether.control.translate import translate
from tether.control.world import World
from tether.core.errors import ConfigRejected
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Snapshot


def load_static_snapshot(path: str, node: ProxyNode) -> Snapshot:
    """Return the snapshot ``node`` runs for the resources in ``path`` (file or directory).

    Raises ``ResourceErrors`` (every error, each naming the file, document and field) when a
    document is invalid, and ``ConfigRejected`` naming the file when it cannot be read.
    """
    if not os.path.exists(path):
        raise ConfigRejected(f"{path}: no such file or directory")
    if not os.path.isdir(path) and not os.access(path, os.R_OK):
        raise ConfigRejected(f"{path}: not readable")
    result = parse_paths([path])
    return translate(World(result.resources, ()), node)
