"""Kind spellings the CLI and API accept."""

from __future__ import annotations

import pytest

from tether.control.api.kinds import info_for, resolve_kind
from tether.core.errors import UsageError


@pytest.mark.parametrize("spelling", [
    "vs", "VS", "virtualservice", "VirtualServices", "virtualservice.networking.istio.io",
])
def test_virtual_service_spellings(spelling: str) -> None:
    assert resolve_kind(spelling).kind == "VirtualService"


def test_short_names() -> None:
    assert [resolve_kind(s).kind for s in ("dr", "gw", "se", "pa", "ap", "ra")] == [
        "DestinationRule", "Gateway", "ServiceEntry", "PeerAuthentication",
        "AuthorizationPolicy", "RequestAuthentication",
    ]
    assert info_for("DestinationRule").qualified == "destinationrule.networking.istio.io"


def test_unknown_kind_lists_known_ones() -> None:
    with pytest.raises(UsageError, match="known kinds: VirtualService \\(vs\\)"):
        resolve_kind("pods")
