"""What the dispatcher does with each alert state change: pure, given the actions and a time.

For each record of ``shoppulse.alerts``, in order:

1. **route**: the receivers whose routes match the alert's labels
   (:meth:`alerts.receivers.DispatcherConfig.route`); none: suppressed as ``unrouted``;
2. **silence**: an active silence matching the labels suppresses it (``silenced``), firing or
   resolved, for every receiver;
3. **acknowledgement**: a *repeated* firing of an occurrence (same fingerprint and
   ``startsAt`` as one already firing) that an operator acknowledged is suppressed
   (``acknowledged``); the first firing and the resolved message are always sent.

It also keeps the alerts currently firing, so that Alertmanager receivers can be re-sent
them (:meth:`DispatchState.resend`), since Alertmanager resolves an alert by itself when it
is not re-sent within its ``resolve_timeout``. Each is kept with the source (the topic
partition) it was read from: when a partition moves to another dispatcher of the group,
:meth:`DispatchState.forget` drops its alerts, so this one stops re-sending alerts whose
resolution it will never read.

>>> from alerts.actions import ActionBook
>>> from alerts.receivers import load_receivers
>>> from shoppulse.alert_shape import alert
>>> cfg = load_receivers('''
... receivers: [{name: hook, log: {}}]
... routes: [{receivers: [hook], match: {severity: critical}}]
... ''', env={})
>>> state, book = DispatchState(cfg), ActionBook()
>>> a = alert(name="roas_low", store_id="s1", kpi="roas", severity="critical",
...     status="firing", starts_at_ms=1_700_000_040_000, value=3.2, expected=None,
...     summary="ROAS low", description="")
>>> state.decide(a, book, now_ms=1_700_000_100_000)
Decision(receivers=('hook',), suppressed=None)
>>> [x["fingerprint"] for x in state.resend("hook", book, 1_700_000_100_000)] == [a["fingerprint"]]
True
>>> state.decide(dict(a, labels=dict(a["labels"], severity="info")), book, 1_700_000_100_000)
Decision(receivers=(), suppressed='unrouted')
>>> state.forget([None]); state.firing()
()
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from alerts.actions import ActionBook
from alerts.receivers import DispatcherConfig

Suppression = Literal["unrouted", "silenced", "acknowledged"]
SUPPRESSIONS: Final[tuple[Suppression, ...]] = ("unrouted", "silenced", "acknowledged")


class InvalidAlertError(ValueError):
    """A ``shoppulse.alerts`` record without the fields the dispatcher needs."""


@dataclass(frozen=True, slots=True)
class Decision:
    receivers: tuple[str, ...]
    suppressed: Suppression | None


def labels_of(alert: Mapping[str, Any]) -> dict[str, str]:
    """The alert's labels as strings, or :class:`InvalidAlertError`.

    >>> labels_of({"labels": {"store_id": "s1", "n": 3}, "fingerprint": "f",
    ...     "status": "firing"})
    {'store_id': 's1', 'n': '3'}
    >>> labels_of({"labels": {}, "status": "firing"})
    Traceback (most recent call last):
    ...
    alerts.dispatch_policy.InvalidAlertError: fingerprint must be a non-empty string
    """
    labels = alert.get("labels")
    if not isinstance(labels, Mapping):
        raise InvalidAlertError("labels must be an object")
    if not isinstance(alert.get("fingerprint"), str) or not alert["fingerprint"]:
        raise InvalidAlertError("fingerprint must be a non-empty string")
    if alert.get("status") not in ("firing", "resolved"):
        raise InvalidAlertError("status must be firing or resolved")
    return {str(k): str(v) for k, v in labels.items()}


class DispatchState:
    """The alerts firing now (by fingerprint) and the routing decision for each change."""

    def __init__(self, config: DispatcherConfig) -> None:
        self.config = config
        #: fingerprint -> (the alert firing, the source it was read from)
        self._firing: dict[str, tuple[Mapping[str, Any], Hashable]] = {}

    def observe(self, alert: Mapping[str, Any], source: Hashable = None) -> bool:
        """Fold one state change read from ``source`` (e.g. its topic partition); True if
        it repeats an occurrence already firing."""
        labels_of(alert)
        fingerprint = str(alert["fingerprint"])
        previous, _ = self._firing.get(fingerprint, (None, None))
        if alert["status"] == "firing":
            self._firing[fingerprint] = (alert, source)
            return previous is not None and previous.get("startsAt") == alert.get("startsAt")
        self._firing.pop(fingerprint, None)
        return False

    def forget(self, sources: Iterable[Hashable]) -> None:
        """Drop the firing alerts read from ``sources`` (partitions no longer ours)."""
        gone = set(sources)
        for fingerprint in [f for f, (_, src) in self._firing.items() if src in gone]:
            del self._firing[fingerprint]

    def decide(
        self, alert: Mapping[str, Any], book: ActionBook, now_ms: int, source: Hashable = None
    ) -> Decision:
        """Observe ``alert`` and decide who gets it (see the module docstring)."""
        labels = labels_of(alert)
        repeat = self.observe(alert, source)
        receivers = self.config.route(labels)
        if not receivers:
            return Decision((), "unrouted")
        if book.silencing(labels, now_ms):
            return Decision((), "silenced")
        if repeat and book.ack_for(str(alert["fingerprint"]), str(alert.get("startsAt"))):
            return Decision((), "acknowledged")
        return Decision(receivers, None)

    def firing(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(alert for alert, _ in self._firing.values())

    def resend(self, receiver: str, book: ActionBook, now_ms: int) -> list[Mapping[str, Any]]:
        """The firing alerts routed to ``receiver`` and not silenced at ``now_ms``."""
        out = []
        for alert, _ in self._firing.values():
            labels = labels_of(alert)
            if receiver in self.config.route(labels) and not book.silencing(labels, now_ms):
                out.append(alert)
        return out
