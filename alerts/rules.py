"""Alert rules in YAML: thresholds on KPIs, detector signals, rates of change.

The format (``alerts/default_rules.yaml`` is a complete example)::

    repeat_interval: 4h        # re-notify a still-firing alert this often; default 4h
    flap_window: 5m            # hold a resolution this long (see alerts.lifecycle); default 0m
    rules:
      - name: first_response_slow          # unique; becomes the alert's alertname
        kind: threshold                    # threshold | anomaly | rate_of_change
        kpi: first_response_p90_s          # a KPI of shoppulse.kpis.REGISTRY
        op: ">"                            # > | >= | < | <=
        value: 30
        for: 3m                            # how long the condition holds before firing
        flap_window: 1m                    # optional: this rule's resolve hold (file's default)
        severity: warning                  # info | warning | critical; default warning
        labels: {team: support}            # extra labels (not alertname/store_id/kpi/severity)
        annotations:
          summary: "First-response p90 above {threshold} s"
          description: "{store_id}: {kpi} is {value}"
        stores:                            # per-store overrides: value, for, severity, disabled
          store-001: {value: 45, for: 5m}
          store-002: {disabled: true}
      - name: conversion_drop
        kind: anomaly
        signal: conversion_drop            # a detector signal's alertname
        severity: warning
      - name: resolution_low               # a threshold over the last 30 minutes, summed
        kind: threshold
        kpi: resolution_rate
        op: "<"
        value: 0.9
        window: 30m                        # optional: judge the KPI of the summed minutes
      - name: sessions_collapse
        kind: rate_of_change
        kpi: sessions
        window: 10m                        # compare with the value this long before
        op: "<"                            # on the relative change (now - then) / |then|
        value: -0.5                        # i.e. down by more than 50 %

Durations are a whole number with ``s``, ``m`` or ``h`` (``90s``, ``3m``, ``1h``).
Annotation templates may use the placeholders ``{store_id}``, ``{value}``, ``{threshold}``,
``{kpi}``, ``{expected}``, ``{rule}`` and ``{severity}``, nothing else (no format specs).
Label values are templates too, with the alert's identity only: ``{store_id}``, ``{kpi}``,
``{rule}`` and ``{severity}`` (e.g. ``labels: {page: "oncall-{store_id}"}``).

Errors name the field path and the YAML line, e.g.
``line 7: rules[0].kpi: unknown KPI 'nope'``.

>>> rs = load_rules('''
... rules:
...   - {name: roas_low, kind: threshold, kpi: roas, op: "<", value: 4}
... ''')
>>> len(rs), rs.rules[0].breaches(3.5), rs.rules[0].breaches(4.0)
(1, True, False)
>>> load_rules('''
... rules:
...   - name: roas_low
...     kind: threshold
...     kpi: roas
...     op: "=="
...     value: 4
... ''')
Traceback (most recent call last):
...
alerts.rules.RulesError: line 6: rules[0].op: Input should be '>', '>=', '<' or '<='
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Final, Literal

import yaml
from pydantic import AfterValidator, Field

from alerts.yaml_spec import SpecError, at_line, field_path, load_spec
from shoppulse.alert_shape import Severity
from shoppulse.components import DISTINCT_COMPONENTS
from shoppulse.inventory import GAUGE_COMPONENTS
from shoppulse.kpis import KPI_BY_NAME, kpi_inputs
from shoppulse.yaml_validation import StrictSpec

RuleKind = Literal["threshold", "anomaly", "rate_of_change"]
Op = Literal[">", ">=", "<", "<="]

#: Placeholders an annotation template may use.
PLACEHOLDERS: Final = frozenset(
    ("store_id", "value", "threshold", "kpi", "expected", "rule", "severity")
)
#: Placeholders a label template may use: the alert's identity only, never its value,
#: so that a label, and so the fingerprint, stays the same while the alert lasts.
LABEL_PLACEHOLDERS: Final = frozenset(("store_id", "kpi", "rule", "severity"))
#: Labels every alert carries; a rule's ``labels`` may not set them.
RESERVED_LABELS: Final = frozenset(("alertname", "store_id", "kpi", "severity"))
DEFAULT_RULES_PATH: Final = Path(__file__).with_name("default_rules.yaml")

_DURATION_RE: Final = re.compile(r"^([0-9]+)(s|m|h)$")
_UNIT_MS: Final = {"s": 1_000, "m": 60_000, "h": 3_600_000}
_NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Components that a window of minutes cannot sum (distinct counts, levels).
_NOT_SUMMED: Final = frozenset(DISTINCT_COMPONENTS) | frozenset(GAUGE_COMPONENTS)


class RulesError(ValueError):
    """A rules file that does not parse or validate; one line per error, each with its line."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors: tuple[str, ...] = tuple(errors)


def parse_duration_ms(text: str) -> int:
    """``"3m"`` as milliseconds.

    >>> parse_duration_ms("90s"), parse_duration_ms("3m"), parse_duration_ms("1h")
    (90000, 180000, 3600000)
    """
    m = _DURATION_RE.match(text)
    if m is None:
        raise ValueError(f"bad duration {text!r}: use a whole number with s, m or h, e.g. 3m")
    return int(m.group(1)) * _UNIT_MS[m.group(2)]


def render(template: str, fields: Mapping[str, str]) -> str:
    """Fill a (validated) annotation template."""
    return template.format_map(dict(fields))


# --- YAML schema --------------------------------------------------------------------------


def _check_duration(value: str) -> str:
    parse_duration_ms(value)
    return value


def _check_kpi(value: str) -> str:
    if value not in KPI_BY_NAME:
        raise ValueError(f"unknown KPI {value!r}; the KPIs are listed in docs/kpis.md")
    return value


def _check_placeholders(value: str, allowed: frozenset[str], where: str) -> str:
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError as exc:
        raise ValueError(f"bad template: {exc} (write {{{{ and }}}} for literal braces)") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed:
            known = ", ".join(f"{{{p}}}" for p in sorted(allowed))
            raise ValueError(f"unknown placeholder {{{name}}} {where}; known: {known}")
        if spec or conversion:
            raise ValueError(f"placeholder {{{name}}} takes no format spec or conversion")
    return value


def _check_template(value: str) -> str:
    return _check_placeholders(value, PLACEHOLDERS, "in an annotation")


def _check_label_template(value: str) -> str:
    return _check_placeholders(value, LABEL_PLACEHOLDERS, "in a label")


def _check_name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(f"bad name {value!r}: use letters, digits and _")
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
KpiName = Annotated[str, AfterValidator(_check_kpi)]
Template = Annotated[str, AfterValidator(_check_template)]
LabelTemplate = Annotated[str, AfterValidator(_check_label_template)]
Name = Annotated[str, AfterValidator(_check_name)]


class _OverrideSpec(StrictSpec):
    value: float | None = None
    for_: Duration | None = Field(default=None, alias="for")
    severity: Severity | None = None
    disabled: bool = False


class _AnnotationsSpec(StrictSpec):
    summary: Template | None = None
    description: Template | None = None


class _RuleSpec(StrictSpec):
    name: Name
    kind: RuleKind
    kpi: KpiName | None = None
    signal: Name | None = None
    op: Op | None = None
    value: float | None = None
    window: Duration | None = None
    for_: Duration = Field(default="0m", alias="for")
    flap_window: Duration | None = None
    severity: Severity = "warning"
    labels: dict[str, LabelTemplate] = Field(default_factory=dict)
    annotations: _AnnotationsSpec = _AnnotationsSpec()
    stores: dict[str, _OverrideSpec] = Field(default_factory=dict)


class _RulesFileSpec(StrictSpec):
    repeat_interval: Duration = "4h"
    flap_window: Duration = "0m"
    rules: list[_RuleSpec]


#: Which of the kind-specific fields each kind needs (``?``: may have); it must not have
#: the others.
_KIND_FIELDS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "threshold": ("kpi", "op", "value", "window?"),
        "anomaly": ("signal",),
        "rate_of_change": ("kpi", "op", "value", "window"),
    }
)
_ALL_KIND_FIELDS: Final = ("kpi", "signal", "op", "value", "window")


# --- compiled rules -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreOverride:
    value: float | None = None
    for_ms: int | None = None
    severity: Severity | None = None
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """One validated rule. :meth:`for_store` applies a store's override."""

    name: str
    kind: RuleKind
    kpi: str | None = None
    signal: str | None = None
    op: Op | None = None
    value: float | None = None
    window_ms: int | None = None
    for_ms: int = 0
    severity: Severity = "warning"
    labels: Mapping[str, str] = field(default_factory=dict)
    summary: str | None = None
    description: str | None = None
    stores: Mapping[str, StoreOverride] = field(default_factory=dict)
    flap_window_ms: int | None = None
    """This rule's resolve hold; None: the rule set's ``flap_window``."""

    def for_store(self, store_id: str) -> Rule | None:
        """The rule as it applies to one store, or ``None`` when disabled there."""
        o = self.stores.get(store_id)
        if o is None:
            return self
        if o.disabled:
            return None
        return replace(
            self,
            value=self.value if o.value is None else o.value,
            for_ms=self.for_ms if o.for_ms is None else o.for_ms,
            severity=self.severity if o.severity is None else o.severity,
        )

    def breaches(self, x: float) -> bool:
        """Whether ``x`` (the KPI value, or the relative change) satisfies ``op value``."""
        if self.op is None or self.value is None:
            raise ValueError(f"rule {self.name!r} ({self.kind}) has no op/value")
        v = self.value
        match self.op:
            case ">":
                return x > v
            case ">=":
                return x >= v
            case "<":
                return x < v
            case "<=":
                return x <= v


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    repeat_interval_ms: int = 4 * 3_600_000
    flap_window_ms: int = 0

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def for_signal(self, alertname: str) -> tuple[Rule, ...]:
        """The anomaly rules matching a detector signal's alertname."""
        return tuple(r for r in self.rules if r.kind == "anomaly" and r.signal == alertname)

    def of_kind(self, *kinds: RuleKind) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.kind in kinds)


# --- loading ------------------------------------------------------------------------------


def load_rules(text: str) -> RuleSet:
    """Parse and validate a rules YAML document; :class:`RulesError` lists every problem."""
    try:
        spec, root = load_spec(text, _RulesFileSpec, "rules")
    except SpecError as exc:
        raise RulesError(exc.errors) from None
    errors = _semantic_errors(spec, root)
    if errors:
        raise RulesError(errors)
    return RuleSet(
        tuple(_compile(r) for r in spec.rules),
        repeat_interval_ms=parse_duration_ms(spec.repeat_interval),
        flap_window_ms=parse_duration_ms(spec.flap_window),
    )


def load_rules_file(path: Path | str) -> RuleSet:
    return load_rules(Path(path).read_text(encoding="utf-8"))


def load_default_rules() -> RuleSet:
    """The rules shipped in ``alerts/default_rules.yaml``."""
    return load_rules_file(DEFAULT_RULES_PATH)


def _semantic_errors(spec: _RulesFileSpec, root: yaml.Node | None) -> list[str]:
    errors: list[str] = []

    def err(loc: tuple[str | int, ...], msg: str) -> None:
        errors.append(at_line(root, loc, f"{field_path(loc)}: {msg}"))

    seen: dict[str, int] = {}
    for i, r in enumerate(spec.rules):
        if r.name in seen:
            err(
                ("rules", i, "name"), f"duplicate rule name {r.name!r} (also rules[{seen[r.name]}])"
            )
        seen.setdefault(r.name, i)
        needed = _KIND_FIELDS[r.kind]
        for f in _ALL_KIND_FIELDS:
            present = getattr(r, f) is not None
            if f in needed and not present:
                err(("rules", i), f"{f}: required for kind {r.kind}")
            elif f not in needed and f"{f}?" not in needed and present:
                err(("rules", i, f), f"not allowed for kind {r.kind}")
        for label in r.labels:
            if label in RESERVED_LABELS:
                err(("rules", i, "labels", label), "reserved label, set by the rule itself")
        if r.window is not None and parse_duration_ms(r.window) < 60_000:
            err(("rules", i, "window"), "must be at least 1m")
        if r.kind == "threshold" and r.window is not None and r.kpi in KPI_BY_NAME:
            unsummable = kpi_inputs(KPI_BY_NAME[r.kpi]) & _NOT_SUMMED
            if unsummable:
                err(
                    ("rules", i, "window"),
                    f"{r.kpi} reads {', '.join(sorted(unsummable))}, which minutes do not sum;"
                    " use it without a window",
                )
        for sid, o in r.stores.items():
            if o.value is not None and r.kind == "anomaly":
                err(("rules", i, "stores", sid, "value"), "not allowed for kind anomaly")
    return errors


def _compile(r: _RuleSpec) -> Rule:
    return Rule(
        name=r.name,
        kind=r.kind,
        kpi=r.kpi,
        signal=r.signal,
        op=r.op,
        value=r.value,
        window_ms=None if r.window is None else parse_duration_ms(r.window),
        for_ms=parse_duration_ms(r.for_),
        flap_window_ms=None if r.flap_window is None else parse_duration_ms(r.flap_window),
        severity=r.severity,
        labels=MappingProxyType(dict(r.labels)),
        summary=r.annotations.summary,
        description=r.annotations.description,
        stores=MappingProxyType(
            {
                sid: StoreOverride(
                    value=o.value,
                    for_ms=None if o.for_ is None else parse_duration_ms(o.for_),
                    severity=o.severity,
                    disabled=o.disabled,
                )
                for sid, o in r.stores.items()
            }
        ),
    )
