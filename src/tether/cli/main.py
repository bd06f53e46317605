"""The ``tether`` command: one sub-command per module under ``tether.cli``.

Each module exposes ``register(subparsers)`` that adds its parser and sets
``func`` to a callable taking the parsed namespace and returning an exit status.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from tether.core.errors import TetherError

# Module names under tether.cli; a module that is not there yet is skipped.
SUBCOMMAND_MODULES = (
    "demo",
    "control",
    "proxy",
    "run",
    "gateway",
    "resources",
    "analyze",
    "status",
    "telemetry",
    "token",
    "dashboard",
)


# Commands whose module is not named like the command.
COMMAND_MODULES = {
    "apply": "resources",
    "get": "resources",
    "delete": "resources",
    "describe": "resources",
    "proxy-status": "status",
    "check": "status",
    "stat": "telemetry",
    "top": "telemetry",
    "tap": "telemetry",
    "routes": "telemetry",
    "edges": "telemetry",
}


def modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """Return the sub-command modules to import for ``argv``: only the one it names, so a
    sidecar does not load (and keep in memory) the control plane's code; all for help."""
    if argv:
        module = COMMAND_MODULES.get(argv[0], argv[0])
        if module in SUBCOMMAND_MODULES:
            return (module,)
    return SUBCOMMAND_MODULES


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Return the top-level parser with the sub-commands ``argv`` needs registered."""
    parser = argparse.ArgumentParser(prog="tether", description="Tether service mesh")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules_for(argv):
        try:
            module = importlib.import_module(f"tether.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tether.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 user error, 2 usage)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except TetherError as exc:
        print(f"tether: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
