"""Render the KPI reference page (``docs/kpis.md``) from the registry.

``make docs`` (``python -m cli.kpidoc docs/kpis.md``) rewrites it; a test
fails when the page and the registry disagree.

>>> "| `gmv_minor` |" in render_markdown()
True
"""

from __future__ import annotations

import sys
from pathlib import Path

from shoppulse.components import COUNT_COMPONENTS, DISTINCT_COMPONENTS
from shoppulse.kpis import REGISTRY

_GROUP_TITLES = {
    "sales": "Sales",
    "funnel": "Funnel and traffic",
    "service": "Service (chats)",
    "inventory": "Inventory and fulfilment",
}
_DIRECTION = {
    "higher_is_better": "↑ higher is better",
    "lower_is_better": "↓ lower is better",
    "neutral": "—",
}


def render_markdown() -> str:
    lines = [
        "# KPI reference",
        "",
        "Generated from `shoppulse/kpis.py` by `make docs`; do not edit by hand.",
        "",
        "Every KPI is a formula over additive components of one store-minute. Windows of 5",
        "minutes, an hour, a day or all stores sum the components first and apply the formula",
        "after (ratio of sums). A ratio whose denominator is 0 is null, never 0.",
        "",
    ]
    for group, title in _GROUP_TITLES.items():
        kpis = [k for k in REGISTRY if k.group == group]
        if not kpis:
            continue
        lines += [
            f"## {title}",
            "",
            "| KPI | name | unit | formula | direction | marks |",
            "|---|---|---|---|---|---|",
        ]
        for k in kpis:
            marks = ", ".join(f"{m.op} {m.value:g} ({m.source})" for m in k.marks) or "—"
            lines.append(
                f"| {k.title} | `{k.name}` | {k.unit} | {k.formula.describe()} — "
                f"{k.description} | {_DIRECTION[k.direction]} | {marks} |"
            )
        lines.append("")
    lines += [
        "## Components",
        "",
        "Additive (summed in rollups): " + ", ".join(f"`{c}`" for c in COUNT_COMPONENTS) + ".",
        "",
        "Distinct counts (exact within a minute, not additive): "
        + ", ".join(f"`{c}`" for c in DISTINCT_COMPONENTS)
        + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = render_markdown()
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
