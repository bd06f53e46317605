"""Command-line flags every command that talks to the control plane shares."""

from __future__ import annotations

import argparse

from tether.client.http import ControlClient, control_url, load_token


def add_control_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--control URL`` (env TETHER_CONTROL) and ``--token-file PATH`` (env TETHER_TOKEN_FILE)."""
    parser.add_argument(
        "--control",
        metavar="URL",
        help="control plane URL (env TETHER_CONTROL, default http://127.0.0.1:15010)",
    )
    parser.add_argument(
        "--token-file",
        metavar="PATH",
        help="admin token file (env TETHER_TOKEN_FILE, default ./.tether/admin.token)",
    )


def client_from_args(args: argparse.Namespace, timeout: float = 10.0) -> ControlClient:
    """Return a ControlClient for ``--control``, carrying the admin token when one is found.

    Raises UsageError for a malformed URL or an unreadable explicit token file.
    """
    token = load_token(getattr(args, "token_file", None))
    return ControlClient(control_url(getattr(args, "control", None)), token, timeout)
