"""The progress bar of the commands that produce events (``simulate``, ``replay``): events done,
their rate and event time, on stderr, and only on a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


def production_progress(label: str, *, enabled: bool, known_total: bool) -> Progress:
    """A bar for producing events; its task carries ``rate`` and ``event_time`` fields.

    >>> production_progress("replay", enabled=False, known_total=True).disable
    True
    """
    console = Console(stderr=True)
    return Progress(
        SpinnerColumn(),
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn() if known_total else TextColumn("{task.completed:,} events"),
        TextColumn("{task.fields[rate]}"),
        TextColumn("event time {task.fields[event_time]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled or not console.is_terminal,
    )
