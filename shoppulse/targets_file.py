"""The targets YAML file: its schema, validation and loading into a :class:`TargetBook`.

The YAML format (``config/targets.example.yaml``)::

    defaults:                     # optional; every key may be overridden per store
      currency: EUR               # ISO 4217, upper case
      timezone: Europe/Berlin     # IANA name; default UTC
      curve: ecommerce            # a curve name, or 24 hourly weights; default ecommerce
      daily_gmv_target_minor: 1_000_000   # optional default target
    curves:                       # optional named curves: 24 non-negative hourly weights
      late_evening: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 4, 3, 2]
    stores:
      store-001:
        daily_gmv_target_minor: 2_400_000   # required here or under defaults; >= 0
        currency: EUR
        timezone: Europe/Berlin
        curve: late_evening
        weekday_targets_minor:    # optional per-weekday overrides (mon … sun); 0 = closed
          sat: 3_000_000
          sun: 0
      store-002: {}               # everything from defaults

Built-in curves: ``ecommerce`` (the default) and ``flat``; see :mod:`shoppulse.target_curves`.
Weights are normalized to sum to 1.

Validation is strict (no silent coercion: ``"1000"`` is not an integer) and every error
names its field path, e.g. ``stores.store-001.daily_gmv_target_minor``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Final, Literal, TypeVar, cast
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    field_validator,
)

from shoppulse.target_curves import BUILTIN_CURVES, ECOMMERCE_CURVE, Curve
from shoppulse.targets import StoreTarget, TargetBook
from shoppulse.yaml_validation import (
    StrictSpec,
    check_timezone,
    describe_validation_error,
    parse_yaml_mapping,
)

_T = TypeVar("_T")

WEEKDAYS: Final[tuple[str, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class TargetsError(ValueError):
    """A targets file that does not parse or validate; the message names the field path."""


_CURVE_HELP = (
    "a curve is a name (ecommerce, flat, or one under `curves:`) "
    "or a list of 24 non-negative hourly weights"
)


def _check_curve_spec(value: object) -> object:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if not all(isinstance(w, int | float) and not isinstance(w, bool) for w in value):
            raise ValueError(f"{_CURVE_HELP}; got a non-number in the list")
        Curve.from_weights("check", cast(list[float], value))
        return value
    raise ValueError(f"{_CURVE_HELP}; got {type(value).__name__}")


def _check_currency(value: str) -> str:
    if not (len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()):
        raise ValueError(f"an ISO 4217 currency code in upper case, e.g. EUR; got {value!r}")
    return value


def _check_named_curve(weights: list[float]) -> list[float]:
    Curve.from_weights("check", weights)
    return weights


_Currency = Annotated[str, AfterValidator(_check_currency)]
_CurveWeights = Annotated[list[float], AfterValidator(_check_named_curve)]
_TargetMinor = Annotated[int, Field(ge=0)]


class _DefaultsSpec(StrictSpec):
    daily_gmv_target_minor: int | None = Field(default=None, ge=0)
    currency: _Currency | None = None
    timezone: str | None = None
    curve: str | list[float] | None = None

    @field_validator("curve", mode="before")
    @classmethod
    def _curve(cls, value: object) -> object:
        return None if value is None else _check_curve_spec(value)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return check_timezone(value)


class _StoreSpec(_DefaultsSpec):
    weekday_targets_minor: dict[Weekday, _TargetMinor] | None = None


class _TargetsFileSpec(StrictSpec):
    defaults: _DefaultsSpec = _DefaultsSpec()
    curves: dict[str, _CurveWeights] = Field(default_factory=dict)
    stores: dict[str, _StoreSpec]

    @field_validator("curves")
    @classmethod
    def _no_builtin_names(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for name in value:
            if name in BUILTIN_CURVES:
                raise ValueError(f"the built-in curve {name!r} cannot be redefined")
        return value


def load_targets(text: str) -> TargetBook:
    """Parse and validate a targets YAML document (see the module docstring).

    >>> load_targets("stores: {s1: {currency: EUR}}")
    Traceback (most recent call last):
    ...
    shoppulse.targets_file.TargetsError: stores.s1.daily_gmv_target_minor: required (set it here or under defaults)
    >>> load_targets("stores: {s1: {daily_gmv_target_minor: '100', currency: EUR}}")
    Traceback (most recent call last):
    ...
    shoppulse.targets_file.TargetsError: stores.s1.daily_gmv_target_minor: Input should be a valid integer
    """  # noqa: E501
    try:
        data = parse_yaml_mapping(text, "targets")
    except ValueError as exc:
        raise TargetsError(str(exc)) from None
    try:
        spec = _TargetsFileSpec.model_validate(data)
    except ValidationError as exc:
        raise TargetsError(describe_validation_error(exc)) from None
    curves = dict(BUILTIN_CURVES)
    curves.update({n: Curve.from_weights(n, w) for n, w in spec.curves.items()})
    return TargetBook(
        {sid: _resolve(sid, s, spec.defaults, curves) for sid, s in spec.stores.items()}
    )


def _resolve(
    store_id: str, spec: _StoreSpec, defaults: _DefaultsSpec, curves: Mapping[str, Curve]
) -> StoreTarget:
    path = f"stores.{store_id}"
    target = _first(spec.daily_gmv_target_minor, defaults.daily_gmv_target_minor)
    if target is None:
        raise TargetsError(
            f"{path}.daily_gmv_target_minor: required (set it here or under defaults)"
        )
    currency = _first(spec.currency, defaults.currency)
    if currency is None:
        raise TargetsError(f"{path}.currency: required (set it here or under defaults)")
    curve_spec = spec.curve if spec.curve is not None else defaults.curve
    curve_path = f"{path}.curve" if spec.curve is not None else "defaults.curve"
    if curve_spec is None:
        curve = ECOMMERCE_CURVE
    elif isinstance(curve_spec, str):
        if curve_spec not in curves:
            known = ", ".join(sorted(curves))
            raise TargetsError(f"{curve_path}: unknown curve {curve_spec!r}; known: {known}")
        curve = curves[curve_spec]
    else:
        curve = Curve.from_weights(f"{store_id}.custom", curve_spec)
    weekdays = {WEEKDAYS.index(d): v for d, v in (spec.weekday_targets_minor or {}).items()}
    tz = ZoneInfo(_first(spec.timezone, defaults.timezone) or "UTC")
    return StoreTarget(store_id, target, currency, tz, curve, weekdays)


def _first(*values: _T | None) -> _T | None:
    for v in values:
        if v is not None:
            return v
    return None
