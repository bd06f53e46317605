"""Turning msgspec's decode errors into ``path: message`` the way users read them."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

import msgspec
from msgspec import inspect as mi

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_TOKEN = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_NICE = {
    "int": "integer", "str": "string", "float": "number", "bool": "boolean",
    "object": "mapping", "array": "list",
}


def _tokens(path: str) -> list[str | int]:
    out: list[str | int] = []
    for m in _TOKEN.finditer(path):
        if m.group(1) is not None:
            out.append(m.group(1))
        else:
            out.append(int(m.group(2)) if m.group(2).isdigit() else "...")
    return out


def _format_path(tokens: list[str | int]) -> str:
    text = ""
    for t in tokens:
        if isinstance(t, int):
            text += f"[{t}]"
        elif t == "...":
            text += "[...]"
        else:
            text += f".{t}" if text else t
    return text


def _unwrap(t: mi.Type) -> mi.Type:
    if isinstance(t, mi.UnionType):
        rest = [x for x in t.types if not isinstance(x, mi.NoneType)]
        if len(rest) == 1:
            return _unwrap(rest[0])
    return t


def _type_at(root: Any, tokens: list[str | int]) -> mi.Type | None:
    if root is None:
        return None
    t: mi.Type = _unwrap(mi.type_info(root))
    for tok in tokens:
        if isinstance(t, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
            t = t.item_type
        elif isinstance(t, mi.DictType):
            t = t.value_type
        elif isinstance(t, mi.StructType) and isinstance(tok, str):
            fields = {f.encode_name: f for f in t.fields}
            if tok not in fields:
                return None
            t = fields[tok].type
        else:
            return None
        t = _unwrap(t)
    return t


def _value_at(raw: Any, tokens: list[str | int]) -> tuple[bool, Any]:
    for tok in tokens:
        in_list = isinstance(tok, int) and isinstance(raw, list) and 0 <= tok < len(raw)
        in_map = isinstance(tok, str) and tok != "..." and isinstance(raw, dict) and tok in raw
        if in_list or in_map:
            raw = raw[tok]
        else:
            return False, None
    return True, raw


def show(value: Any) -> str:
    """Return ``value`` as a user would write it in a message (strings in double quotes)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    try:
        return json.dumps(value)
    except TypeError:
        return str(value)


def describe_validation_error(
    exc: msgspec.ValidationError, root: Any, raw: Any
) -> tuple[str, str]:
    """Return ``(path, message)`` for a decode error of ``raw`` against the type ``root``."""
    m = _AT.match(str(exc))
    assert m is not None
    msg, tokens = m.group("msg"), _tokens(m.group("path") or "")
    if em := re.fullmatch(r"Expected `(.+?)`, got `(.+?)`", msg):
        expected = " or ".join(_NICE.get(x, x) for x in em.group(1).split(" | ") if x != "null")
        found, value = _value_at(raw, tokens)
        return _format_path(tokens), f"expected {expected}, got {show(value) if found else em.group(2)}"
    if em := re.fullmatch(r"Object contains unknown field `(.+?)`", msg):
        t = _type_at(root, tokens)
        hint = ""
        if isinstance(t, mi.StructType):
            close = difflib.get_close_matches(em.group(1), [f.encode_name for f in t.fields], n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
        return _format_path([*tokens, em.group(1)]), f"unknown field{hint}"
    if em := re.fullmatch(r"Object missing required field `(.+?)`", msg):
        return _format_path([*tokens, em.group(1)]), "required field missing"
    if em := re.fullmatch(r"Invalid enum value (.+)", msg):
        t = _type_at(root, tokens)
        found, value = _value_at(raw, tokens)
        got = show(value) if found else em.group(1)
        if isinstance(t, mi.LiteralType):
            return _format_path(tokens), f"expected one of {', '.join(map(str, t.values))}, got {got}"
        return _format_path(tokens), f"invalid value {got}"
    return _format_path(tokens), msg[:1].lower() + msg[1:]
