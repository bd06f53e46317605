"""Scalar value types of resource specs: durations and k8s quantities.

Both decode from the strings users write (``"1.5s"``, ``"500m"``) through
``dec_hook`` and encode back to the exact text the user wrote.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_QUANTITY = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))(m|k|M|G|Ki|Mi|Gi|)")
_QUANTITY_SCALE = {"m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 1024.0, "Mi": 1024.0**2, "Gi": 1024.0**3}


class Duration:
    """A duration as Istio and the Gateway API write it (``5s``, ``100ms``, ``1h30m``).

    ``ms`` is the whole number of milliseconds (a positive sub-millisecond value rounds up
    to 1); ``text`` is what the user wrote, so the resource encodes back unchanged.
    """

    __slots__ = ("ms", "text")

    ms: int
    text: str

    def __init__(self, ms: int, text: str = "") -> None:
        object.__setattr__(self, "ms", ms)
        object.__setattr__(self, "text", text or f"{ms}ms")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Duration is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Duration) and other.ms == self.ms

    def __hash__(self) -> int:
        return hash(self.ms)

    def __repr__(self) -> str:
        return f"Duration({self.ms}, {self.text!r})"

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Return the duration ``text`` names; raises ``ValueError`` when it is not one."""
        s = text.strip()
        pos = 0
        total = 0.0
        if not s:
            raise ValueError(f"expected a duration such as \"5s\" or \"100ms\", got {text!r}")
        if s == "0":
            return cls(0, text)
        while pos < len(s):
            m = _DURATION_PART.match(s, pos)
            if m is None:
                raise ValueError(
                    f"expected a duration such as \"5s\" or \"100ms\", got \"{text}\""
                )
            total += float(m.group(1)) * _UNIT_MS[m.group(2)]
            pos = m.end()
        ms = round(total)
        if ms == 0 and total > 0:
            ms = 1
        return cls(ms, text)


def parse_quantity(value: object) -> float:
    """Return the number a Kubernetes quantity (``"500m"``, ``"1"``, ``2``) stands for.

    Raises ``ValueError`` for anything else (booleans included).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a quantity such as 1 or \"500m\", got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        m = _QUANTITY.fullmatch(value.strip())
        if m is not None:
            return float(m.group(1)) * _QUANTITY_SCALE[m.group(2)]
    raise ValueError(f"expected a quantity such as 1 or \"500m\", got {value!r}")


def dec_hook(typ: type, obj: Any) -> Any:
    """Decode the custom scalar types; raises ``TypeError``/``ValueError`` (msgspec adds the path)."""
    if typ is Duration:
        if isinstance(obj, Duration):
            return obj
        if not isinstance(obj, str):
            raise TypeError(f"expected a duration such as \"5s\", got {_show(obj)}")
        return Duration.parse(obj)
    raise NotImplementedError(f"cannot decode {typ!r}")


def enc_hook(obj: Any) -> Any:
    """Encode the custom scalar types back to the user's text; raises ``NotImplementedError``."""
    if isinstance(obj, Duration):
        return obj.text
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


def _show(obj: object) -> str:
    return msgspec.json.encode(obj).decode() if isinstance(obj, str | int | float | bool) else type(
        obj
    ).__name__


class Struct(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    rename="camel",
    forbid_unknown_fields=True,
    omit_defaults=True,
):
    """Base of every spec type: frozen, camelCase on the wire, unknown fields refused."""


class Percent(Struct, frozen=True):
    """Istio's ``Percent`` message: ``{value: 50.0}``."""

    value: float = 0.0
