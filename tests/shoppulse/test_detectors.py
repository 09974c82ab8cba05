from __future__ import annotations

import math
import random

from shoppulse.detectors import DETECTOR_BY_NAME, Detector, DetectorSpec
from shoppulse.seasonal import SeasonalBaseline

DAY = 1440
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000  # a UTC midnight


def ts(minute: int) -> int:
    return T0 + minute * 60_000


def diurnal(minute: int) -> float:
    return 1.0 + 0.8 * math.sin(2 * math.pi * ((minute % DAY) / DAY - 0.25))


def conversion_day(
    det: Detector, rng: random.Random, day: int, factor: float = 1.0, incident: range = range(0)
) -> list[int]:
    """Simulate a day of sessions and paid orders; return the minutes the detector fired."""
    fired = []
    for m in range(day * DAY, (day + 1) * DAY):
        sessions = max(1, round(rng.gauss(200 * diurnal(m), 10)))
        p = 0.05 * (factor if m in incident else 1.0)
        paid = sum(rng.random() < p for _ in range(sessions))
        if det.update(ts(m), paid, sessions).change == "firing":
            fired.append(m)
    return fired


def test_a_clean_week_stays_quiet_and_a_30_percent_drop_fires_within_minutes() -> None:
    rng = random.Random(7)
    det = Detector(DETECTOR_BY_NAME["conversion_drop"], SeasonalBaseline())
    false_alarms = sum(len(conversion_day(det, rng, d)) for d in range(1, 4))
    assert false_alarms <= 1
    start = 4 * DAY + 12 * 60
    fired = conversion_day(det, rng, 4, factor=0.7, incident=range(start, start + 60))
    assert fired
    assert start <= fired[0] <= start + 10


def test_silent_while_warming_up() -> None:
    det = Detector(DETECTOR_BY_NAME["traffic_drop"], SeasonalBaseline(warmup=30))
    outs = [det.update(ts(m), 0 if m > 10 else 100) for m in range(20)]
    assert all(not o.warm and o.score == 0.0 for o in outs)


def test_low_traffic_needs_more_evidence_than_high_traffic() -> None:
    """The same relative drop moves the statistic in proportion to the counts involved."""
    spec = DetectorSpec("x", "count", "drop", shift=0.3, threshold=9.0)
    small, large = (Detector(spec, SeasonalBaseline(fading=0.1, warmup=5)) for _ in range(2))
    for m in range(2 * DAY):
        small.update(ts(m), 3)
        large.update(ts(m), 30)
    s = small.update(ts(2 * DAY), 2).statistic
    big = large.update(ts(2 * DAY), 20).statistic
    assert 0 < s < big


def test_state_round_trip_resumes_the_same_scores() -> None:
    spec = DETECTOR_BY_NAME["gmv_dip"]
    a = Detector(spec, SeasonalBaseline(fading=0.1, warmup=5))
    for m in range(DAY + 100):
        a.update(ts(m), 10 + m % 3)
    b = Detector.from_state(spec, a.to_state())
    for m in range(DAY + 100, DAY + 130):
        assert a.update(ts(m), 5) == b.update(ts(m), 5)


def test_level_detector_uses_the_seasonal_spread() -> None:
    rng = random.Random(3)
    spec = DetectorSpec("lvl", "level", "spike", shift=1.0, threshold=10.0)
    det = Detector(spec, SeasonalBaseline())
    for m in range(2 * DAY):
        det.update(ts(m), rng.gauss(100 * diurnal(m), 5))
    outs = [det.update(ts(2 * DAY + i), 100 * diurnal(2 * DAY + i) + 40) for i in range(5)]
    assert outs[-1].firing
    assert all(0.0 <= o.score < 1.0 for o in outs)


def test_first_response_observation_counts_slow_answers() -> None:
    spec = DETECTOR_BY_NAME["first_response_spike"]
    assert spec.observe({"first_response_s_b00": 4, "first_response_s_b09": 1}) == (1.0, 5.0)
