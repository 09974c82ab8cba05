"""``shoppulse bench-detect``: how fast the anomaly detectors catch injected incidents.

Seeded minute series of small and large stores (``shoppulse.detection_bench``), the
pipeline's own detectors over every minute, and an oracle CUSUM that knows the true
expectations, its threshold matched to the detector's false-alarm rate on clean stores.
Prints a table per incident kind x store size and the false alarms per store-day of every
detector, or with ``--json`` one JSON line.
"""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from shoppulse.detection_bench import INCIDENT_TYPES, BenchResult, bench_steps, evaluate, generate
from shoppulse.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--days", type=int, default=8, help="days per store; the first one is warm-up (default 8)"
    )
    parser.add_argument(
        "--stores-per-size",
        type=int,
        default=3,
        help="clean stores, and stores per incident kind, of each size (default 3)",
    )
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead")


def _num(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def render(result: BenchResult, console: Console) -> None:
    data = result.to_dict()
    table = Table(
        title=f"Detection delay: {data['measured_days']} measured days, "
        f"{result.stores_per_size} stores per size and kind, seed {result.seed}"
    )
    for col in ("incident", "size", "detected", "rate", "median", "p90", "oracle", "ratio"):
        table.add_column(col, justify="left" if col in ("incident", "size") else "right")
    for row in data["incidents"]:
        table.add_row(
            INCIDENT_TYPES[row["kind"]].title,
            row["size"],
            f"{row['detected']}/{row['incidents']}",
            f"{row['detection_rate']:.0%}",
            _num(row["median_delay_min"]),
            _num(row["p90_delay_min"]),
            _num(row["oracle_median_delay_min"]),
            _num(row["ratio"], 2),
        )
    console.print(table)
    watched = dict.fromkeys(t.detector for t in INCIDENT_TYPES.values())
    console.print(f"delays in minutes; detectors: {', '.join(watched)}", style="dim")

    fa = Table(title=f"False alarms per store-day ({data['clean_store_days']:g} clean store-days)")
    for col in ("detector", "small", "large", "all", "alarms"):
        fa.add_column(col, justify="left" if col == "detector" else "right")
    for name, rates in data["false_alarms_per_store_day"].items():
        fa.add_row(
            name,
            f"{rates['small']:.3f}",
            f"{rates['large']:.3f}",
            f"{rates['all']:.3f}",
            str(data["false_alarms"][name]),
        )
    fa.add_row(
        "all detectors",
        "",
        "",
        f"{data['false_alarms_per_store_day_all_detectors']:.3f}",
        str(sum(data["false_alarms"].values())),
        style="bold",
    )
    console.print(fa)
    for note in data["notes"]:
        console.print(f"note: {note}", style="dim")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.days < 2 or args.stores_per_size < 1:
        raise SystemExit("bench-detect: --days must be ≥ 2 and --stores-per-size ≥ 1")
    console = Console(stderr=args.json)
    with Progress(console=console, transient=args.json) as progress:
        task = progress.add_task("generate", total=None)
        data = generate(args.days, args.stores_per_size, args.seed)
        progress.update(task, total=bench_steps(data), completed=0)

        def step(label: str) -> None:
            progress.update(task, advance=1, description=label)

        result = evaluate(data, settings.detection_warmup, step, args.stores_per_size, args.seed)
        progress.update(task, description="done")
    if args.json:
        print(json.dumps(result.to_dict()), flush=True)
    else:
        render(result, console)
    return 0
