"""The alert lifecycle: rule evaluations and detector signals in, alert state changes out.

Pure and deterministic: every input carries its time (epoch milliseconds); nothing reads a
clock. :class:`AlertEngine` takes :class:`~alerts.evaluation.Evaluation` objects (from the
:class:`~alerts.evaluation.RuleEvaluator` on final store-minutes, and from detector signals),
keeps one state per fingerprint (the hash of the alert's labels,
:func:`shoppulse.alert_shape.fingerprint`) and returns notifications in the shape of
:func:`shoppulse.alert_shape.alert`.

The exact rules, for one fingerprint:

* **pending**: the first evaluation with the condition true starts the alert at the start
  of that minute (``startsAt``). Nothing is emitted.
* **firing**: once the condition has held for the rule's ``for`` (the end of the latest
  true minute minus ``startsAt`` is at least ``for``; ``for: 3m`` fires on the third
  consecutive true minute, ``for: 0m`` on the first), one ``firing`` alert is emitted.
  A false minute while pending drops the alert silently.
* **dedup**: while firing, further true minutes emit nothing, except that a ``firing``
  alert is re-emitted (same ``startsAt``, latest value) when ``repeat_interval`` has
  passed since the last notification (``repeat_interval: 0m`` never repeats). An evaluation
  for a minute at or before the last one seen for the fingerprint (a re-published final)
  is ignored.
* **flap protection (resolve hold)**: when the condition clears, the alert is *held*
  firing rather than resolved. If the condition is true again before it has been false for
  ``flap_window`` (the rule's own if it sets one, else the rule file's), the alert just stays
  firing: no resolved and no new firing is emitted, and ``startsAt`` is kept. Once the
  condition has stayed false for ``flap_window`` (the end of the latest false minute minus
  the start of the first false minute), one ``resolved`` alert is emitted with ``endsAt`` =
  the start of the first false minute and the state is dropped. ``flap_window: 0m``
  resolves on the first false minute.
* **no data**: an evaluation with ``active=None`` (the KPI is undefined, e.g. no
  sessions in the minute) neither breaks nor resolves anything: the state is left as it
  is and nothing is emitted. Time keeps counting, so a pending alert whose next true minute
  comes after a gap fires if ``for`` has elapsed since ``startsAt``.

Anomaly rules are fed detector signals (:meth:`AlertEngine.on_signal`): a ``firing``
signal makes the condition true from its ``startsAt`` until a ``resolved`` signal makes it
false at its ``endsAt``. Signals are states, not minutes, so for an anomaly rule with a
``for`` call :meth:`AlertEngine.tick` as time passes (once a minute) to promote pending
alerts, repeat and expire holds.

>>> from alerts.rules import load_rules
>>> rules = load_rules('''
... rules:
...   - {name: roas_low, kind: threshold, kpi: roas, op: "<", value: 4, for: 2m}
... ''')
>>> engine = AlertEngine(rules)
>>> t = 1_700_000_040_000
>>> engine.on_minute("s1", t, {"roas": 3.0})
[]
>>> [(a["status"], a["startsAt"]) for a in engine.on_minute("s1", t + 60_000, {"roas": 3.5})]
[('firing', '2023-11-14T22:14:00.000Z')]
>>> engine.on_minute("s1", t + 120_000, {"roas": 3.2})
[]
>>> [(a["status"], a["endsAt"]) for a in engine.on_minute("s1", t + 180_000, {"roas": 5.0})]
[('resolved', '2023-11-14T22:17:00.000Z')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from alerts.evaluation import Evaluation, RuleEvaluator, as_number, signal_detail
from alerts.rules import Rule, RuleSet, render
from shoppulse.alert_shape import Status, alert, fingerprint
from shoppulse.timeutil import parse_ts_ms

Phase = Literal["pending", "firing", "held"]


@dataclass(slots=True)
class AlertState:
    """What the engine knows about one fingerprint."""

    rule: Rule
    store_id: str
    kpi: str
    labels: dict[str, str]
    fingerprint: str
    phase: Phase
    active_since_ms: int
    value: float | None
    expected: float | None
    last_notified_ms: int | None = None
    cleared_at_ms: int | None = None
    detail: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class AlertEngine:
    """The lifecycle state machine (see the module docstring for the exact rules).

    ``repeat_interval_ms`` and ``flap_window_ms`` default to the rule set's.
    """

    rules: RuleSet
    repeat_interval_ms: int | None = None
    flap_window_ms: int | None = None
    states: dict[str, AlertState] = field(default_factory=dict)
    last_at_ms: dict[str, int] = field(default_factory=dict)
    evaluator: RuleEvaluator | None = None

    def __post_init__(self) -> None:
        if self.repeat_interval_ms is None:
            self.repeat_interval_ms = self.rules.repeat_interval_ms
        if self.flap_window_ms is None:
            self.flap_window_ms = self.rules.flap_window_ms
        if self.evaluator is None:
            self.evaluator = RuleEvaluator(self.rules)

    # -- inputs --------------------------------------------------------------------------

    def on_minute(
        self,
        store_id: str,
        minute_ms: int,
        kpis: Mapping[str, float | None],
        components: Mapping[str, int] | None = None,
    ) -> list[dict[str, Any]]:
        """Evaluate every threshold/rate rule on a final store-minute's KPI values (and its
        components, which threshold rules with a ``window`` sum)."""
        assert self.evaluator is not None
        out: list[dict[str, Any]] = []
        for ev in self.evaluator.evaluate(store_id, minute_ms, kpis, components):
            out.extend(self.observe(ev))
        return out

    def on_signal(
        self, signal: Mapping[str, Any], now_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """Feed a detector signal (an alert-shaped dict) to the anomaly rules matching it.

        A firing signal counts from its ``startsAt``, a resolved one from its ``endsAt``;
        ``now_ms`` (default: that same time) is when the engine learns of it.
        """
        labels = signal["labels"]
        store_id, kpi = str(labels["store_id"]), str(labels.get("kpi", ""))
        firing = signal["status"] == "firing"
        stamp = signal["startsAt"] if firing else signal.get("endsAt") or signal["startsAt"]
        at_ms = parse_ts_ms(stamp)
        out: list[dict[str, Any]] = []
        for base in self.rules.for_signal(str(labels["alertname"])):
            rule = base.for_store(store_id)
            if rule is None:
                continue
            ev = Evaluation(
                rule,
                store_id,
                at_ms,
                firing,
                as_number(signal.get("value")),
                as_number(signal.get("expected")),
                kpi=kpi,
                end_ms=at_ms if now_ms is None else max(now_ms, at_ms),
                detail=signal_detail(signal),
            )
            out.extend(self.observe(ev))
        return out

    def tick(self, now_ms: int, *, promote_pending: bool = True) -> list[dict[str, Any]]:
        """Let time pass: promote pending alerts, repeat firing ones, expire holds.

        ``promote_pending=False`` is for time passing without input (a store gone quiet):
        holds still resolve and firing alerts still repeat, but silence is no evidence that
        a pending condition still holds, so pending alerts wait for data.
        """
        out: list[dict[str, Any]] = []
        for st in list(self.states.values()):
            if st.phase == "pending" and not promote_pending:
                continue
            out.extend(self._advance(st, now_ms))
        return out

    def observe(self, ev: Evaluation) -> list[dict[str, Any]]:
        """Apply one evaluation; the state changes it causes, as alert dicts."""
        kpi = ev.kpi or ev.rule.kpi or ""
        identity = {
            "store_id": ev.store_id,
            "kpi": kpi,
            "rule": ev.rule.name,
            "severity": ev.rule.severity,
        }
        labels = {
            "alertname": ev.rule.name,
            "store_id": ev.store_id,
            "kpi": kpi,
            "severity": ev.rule.severity,
            **{name: render(template, identity) for name, template in ev.rule.labels.items()},
        }
        fp = fingerprint(labels)
        if ev.at_ms <= self.last_at_ms.get(fp, -1):
            return []  # a minute already seen (a re-published final) or an older one
        self.last_at_ms[fp] = ev.at_ms
        if ev.active is None:
            return []
        st = self.states.get(fp)
        if st is None:
            if not ev.active:
                return []
            st = AlertState(
                ev.rule, ev.store_id, kpi, labels, fp, "pending", ev.at_ms, ev.value, ev.expected
            )
            self.states[fp] = st
        st.rule, st.value, st.expected, st.detail = ev.rule, ev.value, ev.expected, ev.detail
        if ev.active and st.phase == "held":
            st.phase, st.cleared_at_ms = "firing", None  # flapped back: stays firing
        elif not ev.active:
            if st.phase == "pending":
                del self.states[fp]
                return []
            if st.phase == "firing":
                st.phase, st.cleared_at_ms = "held", ev.at_ms
        return self._advance(st, ev.now_ms)

    # -- persistence ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """The engine's state as JSON-ready data (rules are referenced by name)."""
        assert self.evaluator is not None
        return {
            "states": [
                {
                    "rule": st.rule.name,
                    "store_id": st.store_id,
                    "kpi": st.kpi,
                    "labels": st.labels,
                    "fingerprint": st.fingerprint,
                    "phase": st.phase,
                    "active_since_ms": st.active_since_ms,
                    "value": st.value,
                    "expected": st.expected,
                    "last_notified_ms": st.last_notified_ms,
                    "cleared_at_ms": st.cleared_at_ms,
                    "detail": dict(st.detail),
                }
                for st in self.states.values()
            ],
            "last_at_ms": self.last_at_ms,
            **self.evaluator.to_state(),
        }

    @classmethod
    def from_state(cls, rules: RuleSet, data: Mapping[str, Any]) -> AlertEngine:
        """Rebuild an engine; states of rules no longer configured (or disabled) are dropped."""
        engine = cls(rules)
        assert engine.evaluator is not None
        for item in data.get("states", []):
            base = rules.get(str(item["rule"]))
            rule = base.for_store(str(item["store_id"])) if base is not None else None
            if rule is None:
                continue
            st = AlertState(
                rule,
                str(item["store_id"]),
                str(item["kpi"]),
                {str(k): str(v) for k, v in item["labels"].items()},
                str(item["fingerprint"]),
                item["phase"],
                int(item["active_since_ms"]),
                as_number(item.get("value")),
                as_number(item.get("expected")),
                item.get("last_notified_ms"),
                item.get("cleared_at_ms"),
                {str(k): str(v) for k, v in item.get("detail", {}).items()},
            )
            engine.states[st.fingerprint] = st
        engine.last_at_ms = {str(k): int(v) for k, v in data.get("last_at_ms", {}).items()}
        engine.evaluator.restore(data)
        return engine

    # -- state machine -------------------------------------------------------------------

    def _advance(self, st: AlertState, now_ms: int) -> list[dict[str, Any]]:
        repeat = self.repeat_interval_ms or 0
        if st.phase == "pending" and now_ms - st.active_since_ms >= st.rule.for_ms:
            st.phase, st.last_notified_ms = "firing", now_ms
            return [self._alert(st, "firing")]
        if (
            st.phase == "firing"
            and repeat > 0
            and st.last_notified_ms is not None
            and now_ms - st.last_notified_ms >= repeat
        ):
            st.last_notified_ms = now_ms
            return [self._alert(st, "firing")]
        if (
            st.phase == "held"
            and st.cleared_at_ms is not None
            and now_ms - st.cleared_at_ms >= self._flap_window_ms(st.rule)
        ):
            del self.states[st.fingerprint]
            return [self._alert(st, "resolved", ends_at_ms=st.cleared_at_ms)]
        return []

    def _flap_window_ms(self, rule: Rule) -> int:
        """How long a cleared alert of ``rule`` is held: the rule's own ``flap_window``, else
        the engine's (the rule set's)."""
        if rule.flap_window_ms is not None:
            return rule.flap_window_ms
        return self.flap_window_ms or 0

    def _alert(
        self, st: AlertState, status: Status, ends_at_ms: int | None = None
    ) -> dict[str, Any]:
        rule = st.rule
        fields = {
            "store_id": st.store_id,
            "value": _fmt(st.value),
            "threshold": _fmt(rule.value),
            "kpi": st.kpi,
            "expected": _fmt(st.expected),
            "rule": rule.name,
            "severity": rule.severity,
        }
        summary = render(rule.summary or _DEFAULT_SUMMARY[rule.kind], fields)
        description = render(rule.description or _DEFAULT_DESCRIPTION[rule.kind], fields)
        a = alert(
            name=rule.name,
            store_id=st.store_id,
            kpi=st.kpi,
            severity=rule.severity,
            status=status,
            starts_at_ms=st.active_since_ms,
            ends_at_ms=ends_at_ms,
            value=st.value,
            expected=st.expected,
            summary=summary,
            description=description,
            source=f"rule:{rule.kind}",
        )
        a["annotations"] |= st.detail
        a["labels"] = dict(st.labels)
        a["fingerprint"] = st.fingerprint
        return a


_DEFAULT_SUMMARY: Final = {
    "threshold": "{rule}: {kpi} beyond {threshold}",
    "rate_of_change": "{rule}: {kpi} changed beyond {threshold}",
    "anomaly": "{rule}: {kpi} anomaly",
}
_DEFAULT_DESCRIPTION: Final = {
    "threshold": "{store_id}: {kpi} is {value} (threshold {threshold})",
    "rate_of_change": "{store_id}: {kpi} changed by {value} (bound {threshold})",
    "anomaly": "{store_id}: {kpi} is {value} against {expected} expected",
}


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"
