"""Command-line flags every command that talks to the control plane shares."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tether.client.settings import control_url, load_token

if TYPE_CHECKING:
    from tether.client.http import ControlClient


def add_control_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--control URL`` (env TETHER_CONTROL), ``--token-file PATH`` (env TETHER_TOKEN_FILE)
    and ``--ca-file PATH`` (env TETHER_CA_FILE)."""
    parser.add_argument(
        "--control",
        metavar="URL",
        help="control plane URL, http:// or https:// (env TETHER_CONTROL, default http://127.0.0.1:15010)",
    )
    parser.add_argument(
        "--token-file",
        metavar="PATH",
        help="admin token file (env TETHER_TOKEN_FILE, default ./.tether/admin.token)",
    )
    add_ca_file_arg(parser)


def add_ca_file_arg(parser: argparse.ArgumentParser) -> None:
    """Add ``--ca-file PATH``: the CA bundle that verifies an https:// control plane."""
    parser.add_argument(
        "--ca-file",
        metavar="PATH",
        help="CA bundle verifying an https:// control plane (env TETHER_CA_FILE, default "
        "<dir of the token file>/ca/root-cert.pem if it exists, else the system store)",
    )


def client_from_args(args: argparse.Namespace, timeout: float = 10.0) -> ControlClient:
    """Return a ControlClient for ``--control``, carrying the admin token when one is found.

    Raises UsageError for a malformed URL, an unreadable explicit token file or a missing CA file.
    """
    from tether.client.http import ControlClient  # the blocking client only where it is used

    token_file = getattr(args, "token_file", None)
    token = load_token(token_file)
    return ControlClient(control_url(getattr(args, "control", None)), token, timeout,
                         ca_file=getattr(args, "ca_file", None), token_file=token_file)
