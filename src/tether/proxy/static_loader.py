"""Static mode: compile a YAML resources file into a snapshot in a separate process.

Parsing and translation need the control plane's models and YAML; a sidecar that
imported them would carry that code in memory for its whole life. So the file is
compiled by a short-lived child (``python -m tether.proxy.static_loader``) and only
the snapshot JSON comes back.
"""

from __future__ import annotations

import subprocess
import sys

import msgspec

from tether.core.errors import ConfigRejected
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Snapshot, decode, encode

TIMEOUT_S = 60.0


def load_isolated(path: str, node: ProxyNode) -> Snapshot:
    """Return the snapshot ``path`` gives ``node``; raises ConfigRejected with the loader's message."""
    argv = [sys.executable, "-m", "tether.proxy.static_loader", path, msgspec.json.encode(node).decode()]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise ConfigRejected(f"{path}: loading took longer than {TIMEOUT_S:.0f}s") from exc
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip() or f"loader exited with {done.returncode}"
        raise ConfigRejected(message)
    try:
        return decode(done.stdout)
    except msgspec.ValidationError as exc:
        raise ConfigRejected(f"{path}: loader returned an unreadable snapshot: {exc}") from exc


def main(argv: list[str]) -> int:
    """Print the snapshot of ``argv[0]`` for the node JSON ``argv[1]``; errors go to stderr, exit 1."""
    from tether.control.static import load_static_snapshot
    from tether.core.errors import TetherError

    path, node_json = argv
    node = msgspec.json.decode(node_json, type=ProxyNode)
    try:
        snapshot = load_static_snapshot(path, node)
    except (TetherError, OSError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    sys.stdout.buffer.write(encode(snapshot))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
