"""Metrics, the printed table, ``results.json`` and the generated part of ``RESULTS.md``.

Every metric has a value in its unit, a target written ``>= N`` or ``<= N`` in that unit (a
target relative to a peer, such as "20x faster than esda", is turned into that unit from the
peer's value in the same run), the peer's name and value, and ``ratio``: how many times better
Lookback did than the peer (peer time / our time, or our rate / peer rate), so > 1 is better.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NOTES_MARKER = "<!-- notes below this line are kept when the run rewrites this file -->"


def sig(x: float | None, digits: int = 3) -> float | None:
    """``x`` rounded to ``digits`` significant digits (None stays None)."""
    if x is None or not math.isfinite(x):
        return None
    if x == 0:
        return 0.0
    rounded = round(x, -int(math.floor(math.log10(abs(x)))) + digits - 1)
    return float(rounded)


def at_least(n: float) -> str:
    return f">= {_num(n)}"


def at_most(n: float) -> str:
    return f"<= {_num(n)}"


def _num(n: float) -> str:
    if abs(n) >= 100:
        return str(round(n))
    n = sig(n, 3) or 0.0
    return str(int(n)) if float(n).is_integer() else f"{n:g}"


@dataclass
class Metric:
    """One measured number next to its target and its peer."""

    name: str
    title: str
    value: float | None
    unit: str
    target: str | None = None
    peer: str | None = None
    peer_value: float | None = None
    ratio: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def met(self) -> bool | None:
        """Whether the value meets the target; None without a target or a value."""
        if self.target is None or self.value is None:
            return None
        match = re.fullmatch(r"(>=|<=) (-?[0-9.e+-]+)", self.target)
        if not match:
            return None
        bound = float(match.group(2))
        return self.value >= bound if match.group(1) == ">=" else self.value <= bound

    def as_json(self) -> dict[str, Any]:
        return {
            "value": sig(self.value, 4),
            "unit": self.unit,
            "target": self.target,
            "peer": self.peer,
            "peer_value": sig(self.peer_value, 4),
            "ratio": sig(self.ratio, 3),
            "met": self.met,
            "title": self.title,
            "note": self.note,
            "detail": self.detail,
        }


def ratio(ours: float | None, peer: float | None, *, higher_is_better: bool) -> float | None:
    """How many times better ours is: our/peer for rates, peer/our for times and sizes."""
    if ours is None or peer is None or ours <= 0 or peer <= 0:
        return None
    return ours / peer if higher_is_better else peer / ours


# ----------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------


def _cell(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "NO"
    if isinstance(x, int):
        x = float(x)
    if isinstance(x, float):
        v = sig(x, 3)
        return f"{v:,.0f}" if v is not None and abs(v) >= 100 else f"{v:g}"
    return str(x)


def _ratio_cell(r: float | None) -> str:
    return "—" if r is None else f"{sig(r, 3):g}×"


def table_rows(metrics: list[Metric]) -> list[list[str]]:
    rows = [["metric", "value", "unit", "target", "met", "peer value", "ratio", "peer"]]
    for m in metrics:
        rows.append([
            m.name, _cell(m.value), m.unit, m.target or "—", _cell(m.met),
            _cell(m.peer_value), _ratio_cell(m.ratio), _short(m.peer),
        ])
    return rows


def _short(peer: str | None, width: int = 48) -> str:
    if not peer:
        return "—"
    return peer if len(peer) <= width else peer[: width - 1] + "…"


def text_table(metrics: list[Metric]) -> str:
    rows = table_rows(metrics)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def results_document(
    metrics: list[Metric], *, machine: dict, mode: str, commands: list[str], settings: dict,
    started: str, duration_s: float, notes: list[str],
) -> dict:
    return {
        "machine": machine,
        "mode": mode,
        "started": started,
        "duration_s": round(duration_s, 1),
        "commands": commands,
        "settings": settings,
        "notes": notes,
        "metrics": {m.name: m.as_json() for m in metrics},
    }


def write_json(doc: dict, path: Path) -> None:
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n")


def _md_table(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows[1:]]
    return "\n".join(out)


def markdown(doc: dict, metrics: list[Metric]) -> str:
    m = doc["machine"]
    pkgs = ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items())
    lines = [
        "# Lookback benchmark results",
        "",
        f"Generated by `{doc['commands'][0]}` ({doc['mode']} run) on {doc['started']}, "
        f"{doc['duration_s']:.0f} s in all. Each value is the median of its repetitions unless "
        "its name says otherwise; each peer ran on the same data in the same run, so ratios "
        "hold on a noisy machine. **ratio** = how many times better Lookback did than the peer "
        "(peer time ÷ our time, or our rate ÷ peer rate).",
        "",
        "## Machine",
        "",
        f"- CPU: {m.get('cpu')} — {m.get('cores')} cores, {m.get('memory_gb')} GiB memory",
        f"- load average at start: {m.get('load_average_at_start')} (other work shares the box)",
        f"- {m.get('os')}; Python {m.get('python')}; PostgreSQL {m.get('postgresql')}, "
        f"PostGIS {m.get('postgis')}",
        f"- packages: {pkgs}",
        "",
        "## Commands",
        "",
        *[f"- `{c}`" for c in doc["commands"]],
        "",
        "Settings of this run: "
        + ", ".join(f"{k}={v}" for k, v in doc["settings"].items()),
        "",
        "## Results",
        "",
        _md_table(table_rows(metrics)),
        "",
    ]
    beaten = [x for x in metrics if x.met is True]
    missed = [x for x in metrics if x.met is False]
    if beaten:
        lines += ["**Targets beaten:** " + ", ".join(
            f"`{x.name}` ({_cell(x.value)} {x.unit}, target {x.target})" for x in beaten), ""]
    if missed:
        lines += ["**Targets missed:** " + ", ".join(
            f"`{x.name}` ({_cell(x.value)} {x.unit}, target {x.target})" for x in missed), ""]
    lines += ["## Per metric", ""]
    for x in metrics:
        lines.append(f"### `{x.name}` — {x.title}")
        lines.append("")
        if x.peer:
            lines.append(f"- peer: {x.peer}")
        if x.note:
            lines.append(f"- {x.note}")
        for k, v in x.detail.items():
            lines.append(f"- {k}: {_detail(v)}")
        lines.append("")
    if doc["notes"]:
        lines += ["## Notes from the run", "", *[f"- {n}" for n in doc["notes"]], ""]
    return "\n".join(lines)


def _detail(v: Any) -> str:
    if isinstance(v, float):
        return _cell(v)
    if isinstance(v, dict):
        return ", ".join(f"{k} {_detail(x)}" for k, x in v.items())
    if isinstance(v, list):
        return ", ".join(_detail(x) for x in v)
    return str(v)


def write_markdown(text: str, path: Path) -> None:
    """Write the generated part; keep whatever follows :data:`NOTES_MARKER` in the old file."""
    kept = ""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        if NOTES_MARKER in old:
            kept = old.split(NOTES_MARKER, 1)[1]
    path.write_text(text.rstrip() + "\n\n" + NOTES_MARKER + kept.rstrip() + "\n", encoding="utf-8")
