"""Where the control plane and the admin token are: flags, environment, defaults.

Kept apart from the HTTP client so that a sidecar can read these settings without loading
the blocking client (and ``http.client``) into its memory.
"""

from __future__ import annotations

import os

from tether.core.errors import UsageError

DEFAULT_CONTROL = "http://127.0.0.1:15010"
DEFAULT_TOKEN_FILE = os.path.join(".tether", "admin.token")

__all__ = ["DEFAULT_CONTROL", "DEFAULT_TOKEN_FILE", "control_url", "load_token", "token_file_path"]


def control_url(arg: str | None) -> str:
    """Return ``arg``, else env TETHER_CONTROL, else the default ``http://127.0.0.1:15010``."""
    return arg or os.environ.get("TETHER_CONTROL") or DEFAULT_CONTROL


def load_token(path: str | None) -> str | None:
    """Return the admin token from ``path``, env TETHER_TOKEN_FILE or ./.tether/admin.token.

    Returns None when no file exists at the chosen place; raises UsageError when a file
    named explicitly cannot be read.
    """
    explicit = path or os.environ.get("TETHER_TOKEN_FILE")
    chosen = explicit or DEFAULT_TOKEN_FILE
    try:
        with open(chosen, encoding="ascii") as f:
            return f.read().strip() or None
    except FileNotFoundError:
        if explicit:
            raise UsageError(f"token file {chosen} does not exist") from None
        return None
    except OSError as exc:
        raise UsageError(f"cannot read token file {chosen}: {exc.strerror}") from None


def token_file_path(path: str | None) -> str:
    """Return where the admin token is looked for: ``path``, env TETHER_TOKEN_FILE or the default."""
    return path or os.environ.get("TETHER_TOKEN_FILE") or DEFAULT_TOKEN_FILE
