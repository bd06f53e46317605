"""A snapshot that a filter cannot run is refused before the swap (NACK), the old one stays."""

from __future__ import annotations

import random

import pytest

from tether.core.clock import SYSTEM_CLOCK
from tether.core.errors import ConfigRejected
from tether.core.identity import ProxyNode
from tether.core.schema.security import AuthzConfig, AuthzPolicy, AuthzRule, AuthzSource
from tether.core.schema.snapshot import Snapshot
from tether.proxy.runtime import ProxyRuntime, ProxySettings


def test_uncompilable_policy_is_refused_and_the_last_good_snapshot_kept() -> None:
    runtime = ProxyRuntime(ProxyNode(name="a"), ProxySettings(access_log="/dev/null"), SYSTEM_CLOCK, random.Random(1))
    try:
        good = Snapshot(version="good")
        runtime.apply_snapshot(good)
        bad_rule = AuthzRule(sources=(AuthzSource(ip_blocks=("not-a-cidr",)),))
        bad = Snapshot(
            version="bad", authz=AuthzConfig(policies=(AuthzPolicy(name="p", action="ALLOW", rules=(bad_rule,)),))
        )
        with pytest.raises(ConfigRejected):
            runtime.apply_snapshot(bad)
        assert runtime.snapshot is good
        assert runtime.nacks == 1
    finally:
        runtime.access_log.close()
