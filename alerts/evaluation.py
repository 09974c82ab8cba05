"""Rule evaluations: what an alert rule says of one store at one time.

Pure and deterministic: every input carries its time (epoch milliseconds); nothing reads a
clock. An :class:`Evaluation` is the input of the alert lifecycle
(:class:`alerts.lifecycle.AlertEngine`). :class:`RuleEvaluator` turns a final store-minute's
KPI values (and components, for threshold windows) into one :class:`Evaluation` per threshold
and rate-of-change rule, keeping the recent minutes its windows need. :func:`rule_detail` and
:func:`signal_detail` are the annotations an evaluation carries on to the alert's message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from alerts.rules import Rule, RuleSet
from shoppulse.components import sum_values
from shoppulse.kpis import KPI_BY_NAME, kpi_inputs

MINUTE_MS: Final = 60_000


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One rule's verdict for one store at one time.

    ``rule`` is the rule as it applies to the store (:meth:`Rule.for_store`). ``at_ms`` is
    the start of the evaluated minute (or a signal's time); ``end_ms`` the time the verdict
    is known (default: the end of the minute). ``active`` is the condition, ``None`` for
    no data. ``value``/``expected`` go into the alert; ``kpi`` defaults to the rule's.
    ``detail`` are extra annotations for the message (:func:`rule_detail`).
    """

    rule: Rule
    store_id: str
    at_ms: int
    active: bool | None
    value: float | None = None
    expected: float | None = None
    kpi: str | None = None
    end_ms: int | None = None
    detail: Mapping[str, str] = field(default_factory=dict)

    @property
    def now_ms(self) -> int:
        return self.at_ms + MINUTE_MS if self.end_ms is None else self.end_ms


class RuleEvaluator:
    """Threshold and rate-of-change rules over final store-minutes.

    Threshold: the KPI of the minute, or with a ``window`` the KPI over the components
    summed across the minutes of the last ``window`` (ratio of sums, like every rollup), so
    a p90 or a rate is judged on enough traffic rather than on one quiet minute. Rate of
    change: ``(now - then) / |then|`` with ``then`` the KPI value ``window`` earlier; no data
    (``active=None``) when either value is missing or ``then`` is 0.

    >>> from alerts.rules import load_rules
    >>> ev = RuleEvaluator(load_rules('''
    ... rules:
    ...   - {name: slow, kind: threshold, kpi: resolution_rate, op: "<", value: 0.9,
    ...      window: 3m}
    ... '''))
    >>> t = 1_700_000_040_000
    >>> [e.value for e in ev.evaluate("s1", t, {}, {"conversations_opened": 4, "resolutions": 4})]
    [1.0]
    >>> [e.value for e in ev.evaluate("s1", t + 60_000, {}, {"conversations_opened": 6})]
    [0.4]
    >>> [e.value for e in ev.evaluate("s1", t + 180_000, {}, {"conversations_opened": 1})]
    [0.0]
    """

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self._history: dict[tuple[str, str], dict[int, float | None]] = {}
        self._rate_kpis = {r.kpi for r in rules.of_kind("rate_of_change") if r.kpi}
        self._max_window_ms = max(
            (r.window_ms or 0 for r in rules.of_kind("rate_of_change")), default=0
        )
        windowed = [r for r in rules.of_kind("threshold") if r.window_ms and r.kpi]
        self._summed_window_ms = max((r.window_ms or 0 for r in windowed), default=0)
        self._summed = frozenset().union(*(kpi_inputs(KPI_BY_NAME[str(r.kpi)]) for r in windowed))
        #: Per store, the additive components of its recent minutes (threshold windows).
        self._minutes: dict[str, dict[int, dict[str, int]]] = {}

    def evaluate(
        self,
        store_id: str,
        minute_ms: int,
        kpis: Mapping[str, float | None],
        components: Mapping[str, int] | None = None,
    ) -> list[Evaluation]:
        for kpi in self._rate_kpis:
            hist = self._history.setdefault((store_id, kpi), {})
            hist[minute_ms] = kpis.get(kpi)
            for old in [m for m in hist if m < minute_ms - self._max_window_ms]:
                del hist[old]
        if self._summed_window_ms and components is not None:
            minutes = self._minutes.setdefault(store_id, {})
            minutes[minute_ms] = {k: v for k, v in components.items() if k in self._summed}
            for old in [m for m in minutes if m <= minute_ms - self._summed_window_ms]:
                del minutes[old]
        out = []
        for base in self.rules.of_kind("threshold", "rate_of_change"):
            rule = base.for_store(store_id)
            if rule is None or rule.kpi is None:
                continue
            value = now = kpis.get(rule.kpi)
            then = None
            if rule.kind == "rate_of_change" and rule.window_ms is not None:
                then = self._history[(store_id, rule.kpi)].get(minute_ms - rule.window_ms)
                value = None if now is None or not then else (now - then) / abs(then)
            elif rule.window_ms is not None:
                value = self._over_window(store_id, minute_ms, rule.kpi, rule.window_ms)
            active = None if value is None else rule.breaches(value)
            detail = rule_detail(rule, before=then, after=now)
            out.append(
                Evaluation(rule, store_id, minute_ms, active, value, rule.value, detail=detail)
            )
        return out

    def _over_window(self, store_id: str, minute_ms: int, kpi: str, window_ms: int) -> float | None:
        minutes = self._minutes.get(store_id, {})
        if minute_ms not in minutes:
            return None  # no components for this minute: no data
        summed = sum_values(v for m, v in minutes.items() if m > minute_ms - window_ms)
        return KPI_BY_NAME[kpi].formula.evaluate(summed, window_ms)

    def to_state(self) -> dict[str, Any]:
        return {
            "history": [
                [store, kpi, [[m, v] for m, v in hist.items()]]
                for (store, kpi), hist in self._history.items()
            ],
            "minutes": [
                [store, [[m, v] for m, v in minutes.items()]]
                for store, minutes in self._minutes.items()
            ],
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        for store, kpi, points in data.get("history", []):
            self._history[(str(store), str(kpi))] = {int(m): as_number(v) for m, v in points}
        for store, points in data.get("minutes", []):
            self._minutes[str(store)] = {
                int(m): {str(k): int(n) for k, n in v.items()} for m, v in points
            }


#: Annotations of a detector signal that travel on to the alert's message.
SIGNAL_DETAILS: Final = ("band", "new_level")


def signal_detail(signal: Mapping[str, Any]) -> dict[str, str]:
    """What a detector signal says of how unusual its value is, for the message: the band
    around the expected value, and a level taken as the new normal.

    >>> signal_detail({"annotations": {"band": "6", "summary": "x"}})
    {'band': '6'}
    """
    annotations = signal.get("annotations") or {}
    return {k: str(annotations[k]) for k in SIGNAL_DETAILS if k in annotations}


def rule_detail(rule: Rule, *, before: float | None, after: float | None) -> dict[str, str]:
    """The annotations that let a message say how bad a rule's value is: the condition
    (``op``, ``threshold``) and, for a rate of change, the values it compares.

    >>> from alerts.rules import load_rules
    >>> rate = load_rules('''
    ... rules:
    ...   - {name: drop, kind: rate_of_change, kpi: sessions, window: 10m, op: "<", value: -0.5}
    ... ''').rules[0]
    >>> rule_detail(rate, before=120.0, after=48.0)
    {'op': '<', 'threshold': '-0.5', 'window_s': '600', 'before': '120', 'after': '48'}
    """
    out = {"op": str(rule.op), "threshold": f"{rule.value:.6g}"}
    if rule.kind == "rate_of_change" and rule.window_ms is not None:
        out["window_s"] = str(rule.window_ms // 1000)
        if before is not None and after is not None:
            out |= {"before": f"{before:.6g}", "after": f"{after:.6g}"}
    return out


def as_number(x: object) -> float | None:
    """``x`` as a float when it is a JSON number (not a bool), else None."""
    if isinstance(x, int | float) and not isinstance(x, bool):
        return float(x)
    return None


__all__ = [
    "SIGNAL_DETAILS",
    "Evaluation",
    "RuleEvaluator",
    "as_number",
    "rule_detail",
    "signal_detail",
]
