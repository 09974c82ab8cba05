"""``shoppulse bench-detect``: how fast the anomaly detectors catch injected incidents, and how
often they cry wolf, on traffic as wild as real shops'.

Seeded minute series of tiny, small and large stores (``bench.traffic``: day
factors, level shifts, a wandering level, overdispersed counts, payments 0-3 minutes after
checkout), incidents at random times (``bench.incidents``), every minute through
the pipeline's own ``StoreDetectors`` (``bench.pipeline``, in ``--jobs``
processes), and an oracle CUSUM that knows the true expectations, its threshold matched to
the detector's false-alarm rate on clean stores. ``--traffic poisson`` runs the tame traffic
of earlier versions, ``--traffic both`` both in one run and their comparison. Prints tables,
or with ``--json`` one JSON line.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.detection import (
    TRAFFIC,
    BenchResult,
    bench_steps,
    default_jobs,
    evaluate,
    generate,
)
from bench.incidents import INCIDENT_TYPES, KINDS, IncidentKind
from bench.report import compare
from bench.traffic import SIZES, Size
from shoppulse.settings import DetectionSettings

_TRAFFIC_CHOICES = (*TRAFFIC, "both")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=28, help="measured days per store (default 28)")
    parser.add_argument(
        "--sensitivity",
        choices=["default", "quiet"],
        default=None,
        help="the detectors' thresholds (default: SHOPPULSE_DETECTION_SENSITIVITY, else "
        "'default'); 'quiet' aims at about one false alarm per store-week",
    )
    parser.add_argument(
        "--warmup-days",
        type=int,
        default=2,
        help="days before them in which the detectors learn, not measured (default 2)",
    )
    parser.add_argument(
        "--stores-per-size",
        type=int,
        default=2,
        help="clean stores, and stores per incident kind, of each size (default 2)",
    )
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument(
        "--traffic",
        choices=_TRAFFIC_CHOICES,
        default="honest",
        help="honest (default): real shops' variance; poisson: the tame traffic of earlier "
        "versions; both: both in one run, compared",
    )
    parser.add_argument(
        "--kinds",
        type=_kinds,
        default=KINDS,
        help=f"incident kinds, comma-separated (default all: {','.join(KINDS)})",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=SIZES,
        help=f"store sizes, comma-separated (default all: {','.join(SIZES)})",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="processes that run the stores' detectors (default: the CPUs available)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line instead")


def _choices(text: str, allowed: Sequence[str], what: str) -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in items if x not in allowed]
    if unknown or not items:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {', '.join(unknown) or text!r}; choose from {', '.join(allowed)}"
        )
    return list(dict.fromkeys(items))


def _kinds(text: str) -> list[IncidentKind]:
    return [k for k in KINDS if k in _choices(text, KINDS, "incident kind")]


def _sizes(text: str) -> list[Size]:
    return [s for s in SIZES if s in _choices(text, SIZES, "store size")]


def _num(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def render(result: BenchResult, console: Console, notes: bool = True) -> None:
    data = result.to_dict()
    name = data["traffic"]
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,
        pad_edge=False,
        title=f"Detection delay, {name} traffic: {data['measured_days']} measured days "
        f"(+{data['warmup_days']} warm-up), {result.stores_per_size} stores per size and "
        f"kind, seed {result.seed}",
    )
    headers = ("found", "rate", "med", "p90", "open", "o.med", "o.p90", "ratio", "any")
    table.add_column("incident", no_wrap=True)
    table.add_column("size", no_wrap=True)
    for col in headers:
        table.add_column(col, justify="right")
    for row in data["incidents"]:
        table.add_row(
            INCIDENT_TYPES[row["kind"]].title,
            row["size"],
            f"{row['detected']}/{row['incidents']}",
            f"{row['detection_rate']:.0%}",
            _num(row["median_delay_min"]),
            _num(row["p90_delay_min"]),
            str(row["already_firing"]),
            _num(row["oracle_median_delay_min"]),
            _num(row["oracle_p90_delay_min"]),
            _num(row["ratio"], 2),
            str(row["any_detector_detected"]),
        )
    console.print(table)
    watched = dict.fromkeys(t.detector for t in INCIDENT_TYPES.values())
    console.print(
        f"delays in minutes; detectors: {', '.join(watched)}; found: fired in the window; "
        "med, p90: delay; open: the detector was already firing at the start; o.med, o.p90: "
        "the oracle's delay at the detector's false-alarm rate; ratio: of the medians, misses "
        "as infinite; any: incidents some detector fired on",
        style="dim",
    )

    sizes = result.sizes
    store_days = data["clean_store_days"]
    fa = Table(
        box=box.SIMPLE_HEAD,
        title=f"False alarms per clean store-day, {name} traffic "
        f"({store_days['all']:g} clean store-days)",
    )
    for col in ("detector", *sizes, "all", "alarms", "incident st."):
        fa.add_column(col, justify="left" if col == "detector" else "right")
    elsewhere = data["incident_store_false_alarms"]
    for det, rates in data["false_alarms_per_store_day"].items():
        fa.add_row(
            det,
            *(f"{rates[s]:.3f}" for s in sizes),
            f"{rates['all']:.3f}",
            str(data["false_alarms"][det]),
            f"{elsewhere[det]['per_store_day']:.3f}" if det in elsewhere else "",
        )
    total = data["false_alarms_per_store_day_all_detectors"]
    fa.add_row(
        "all detectors",
        *(f"{total[s]:.3f}" for s in sizes),
        f"{total['all']:.3f}",
        str(sum(data["false_alarms"].values())),
        "",
        style="bold",
    )
    console.print(fa)
    seen = ", ".join(f"{s} {v:.1%}" for s, v in data["minutes_seen"].items())
    console.print(
        f"incident stores: false alarms per store-day outside incident windows (+30 min); "
        f"minutes the detectors saw (with events): {seen}; {data['wall_s']:g} s",
        style="dim",
    )
    if notes:
        for note in data["notes"]:
            console.print(f"note: {note}", style="dim")


def render_comparison(comparison: dict[str, Any], console: Console) -> None:
    fa = comparison["false_alarms_per_store_day"]
    traffics = list(next(iter(fa.values()), {}))
    table = Table(
        box=box.SIMPLE_HEAD, title="Same run, traffic compared: false alarms per clean store-day"
    )
    table.add_column("detector")
    for t in traffics:
        table.add_column(t, justify="right")
    for det, by_traffic in fa.items():
        style = "bold" if det == "all detectors" else None
        table.add_row(det, *(f"{by_traffic[t]:.3f}" for t in traffics), style=style)
    console.print(table)
    inc = Table(
        box=box.SIMPLE_HEAD,
        title="Same run, traffic compared: incidents (all sizes): detection rate, median "
        "delay, oracle's median delay",
    )
    inc.add_column("incident", no_wrap=True)
    for t in traffics:
        inc.add_column(f"{t}", justify="right")
        inc.add_column("median", justify="right")
        inc.add_column("oracle", justify="right")
    for kind, by_traffic in comparison["incidents"].items():
        cells: list[str] = []
        for t in traffics:
            row = by_traffic[t]
            cells += [
                f"{row['detection_rate']:.0%}",
                _num(row["median_delay_min"]),
                _num(row["oracle_median_delay_min"]),
            ]
        inc.add_row(INCIDENT_TYPES[kind].title, *cells)
    console.print(inc)


def run(args: argparse.Namespace, settings: DetectionSettings) -> int:
    if args.days < 1 or args.warmup_days < 1 or args.stores_per_size < 1:
        raise SystemExit("bench-detect: --days, --warmup-days and --stores-per-size must be ≥ 1")
    jobs = args.jobs if args.jobs is not None else default_jobs()
    names = list(TRAFFIC) if args.traffic == "both" else [args.traffic]
    console = Console(stderr=args.json)
    results: dict[str, BenchResult] = {}
    with Progress(console=console, transient=args.json) as progress:
        task = progress.add_task("generate", total=None)
        for name in names:
            progress.update(task, description=f"{name}: generate")
            data = generate(
                args.days,
                args.stores_per_size,
                args.seed,
                traffic=TRAFFIC[name],
                warmup_days=args.warmup_days,
                kinds=args.kinds,
                sizes=args.sizes,
            )
            if progress.tasks[0].total is None:  # every traffic has the same stores
                progress.update(task, total=bench_steps(data) * len(names), completed=0)

            def step(label: str, name: str = name) -> None:
                progress.update(task, advance=1, description=f"{name}: {label}")

            results[name] = evaluate(
                data,
                settings.detection_warmup,
                step,
                args.stores_per_size,
                args.seed,
                jobs,
                args.sensitivity or settings.detection_sensitivity,
            )
            del data
        progress.update(task, description="done")
    comparison = compare(results) if len(results) > 1 else None
    if args.json:
        if comparison is None:
            out: dict[str, Any] = results[names[0]].to_dict()
        else:
            out = {name: r.to_dict() for name, r in results.items()}
            out["comparison"] = comparison
        print(json.dumps(out), flush=True)
        return 0
    for i, result in enumerate(results.values()):
        render(result, console, notes=i == len(results) - 1)
    if comparison is not None:
        render_comparison(comparison, console)
    return 0
