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


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every available sub-command registered."""
    parser = argparse.ArgumentParser(prog="tether", description="Tether service mesh")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
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
    parser = build_parser()
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
