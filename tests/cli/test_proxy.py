"""``tether proxy``'s module: what a sidecar process loads by importing it."""

from __future__ import annotations

import subprocess
import sys


def test_the_sidecar_does_not_import_cryptography() -> None:
    # cryptography costs ~10 MB of resident memory per sidecar; only the CA, the key generator
    # child and JWT verification (imported on first use) need it.
    code = ("import sys, tether.cli.proxy\n"
            "loaded = sorted(m for m in sys.modules if m.partition('.')[0] == 'cryptography')\n"
            "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr


def test_the_sidecar_does_not_import_the_blocking_client() -> None:
    # http.client (and email, which it pulls in) is the CLI's; a sidecar talks asyncio only.
    code = ("import sys, tether.cli.proxy, tether.cli.run\n"
            "loaded = sorted(m for m in sys.modules if m in ('http.client', 'tether.client.http'))\n"
            "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
