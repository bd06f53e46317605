"""py-spy during a load run: a flame graph (SVG) plus a text list of the hottest functions."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_LINE_NO = re.compile(r":\d+\)$")


def record_argv(py_spy: str, pid: int, duration_s: float, fmt: str, out: Path) -> list[str]:
    """Return the argv of ``py-spy record`` for ``pid`` writing format ``fmt`` to ``out``.

    Non-blocking sampling so two recorders (SVG and raw) can watch the same process.
    """
    return [py_spy, "record", "--pid", str(pid), "--duration", str(max(1, round(duration_s))),
            "--rate", "200", "--nonblocking", "--format", fmt, "--output", str(out)]


def parse_raw(text: str) -> list[tuple[list[str], int]]:
    """Return (frames root-first, sample count) per line of py-spy's ``--format raw`` output.

    Lines that do not end in a count are skipped.
    """
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append(([_LINE_NO.sub(")", f) for f in stack.split(";")], int(count)))
    return stacks


def summarize(raw: str, title: str, limit: int = 25) -> str:
    """Return a ``py-spy top``-like text table: own and total share of samples per function."""
    stacks = parse_raw(raw)
    total = sum(count for _, count in stacks)
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return f"{title}\n\nno samples (was the process busy, and may py-spy attach to it?)\n"

    def block(heading: str, order: Counter[str]) -> list[str]:
        rows = [heading, "   own%  total%  function (file)"]
        for name, _ in order.most_common(limit):
            rows.append(f"  {100 * own[name] / total:5.1f}  {100 * inclusive[name] / total:6.1f}"
                        f"  {name}")
        return [*rows, ""]

    return "\n".join([f"{title} — {total} samples", "",
                      *block("by own time (the function itself):", own),
                      *block("by total time (the function and what it calls):", inclusive)])
