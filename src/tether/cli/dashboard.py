"""``tether dashboard``: print (and with ``--open``, open) the dashboard's URL.

The dashboard is the control plane's web page, so its URL is the control URL plus ``/``.
"""

from __future__ import annotations

import argparse
import webbrowser
from collections.abc import Callable
from typing import Any

from tether.client.args import add_control_args
from tether.client.http import ControlClient
from tether.client.settings import control_url


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dashboard", help="print (or --open) the dashboard URL")
    parser.add_argument("--open", action="store_true", help="open it in a web browser")
    add_control_args(parser)
    parser.set_defaults(func=run_dashboard)


def dashboard_url(control: str | None) -> str:
    """Return the dashboard URL for ``--control`` (env TETHER_CONTROL, default); raises UsageError."""
    return ControlClient(control_url(control)).url + "/"


def run_dashboard(args: argparse.Namespace, opener: Callable[[str], bool] = webbrowser.open) -> int:
    """Print the URL; with ``--open`` also open it (a missing browser is not an error)."""
    url = dashboard_url(args.control)
    print(url)
    if args.open and not opener(url):
        print("tether: no web browser could be started; open the URL above by hand")
    return 0
