from __future__ import annotations

import math
import random

from shoppulse.detectors import DETECTOR_BY_NAME, Detector, DetectorSpec
from shoppulse.diurnal import diurnal_factor
from shoppulse.seasonal import SeasonalBaseline

DAY = 1440
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000  # a UTC midnight


def ts(minute: int) -> int:
    return T0 + minute * 60_000


def shop_curve(minute: int) -> float:
    """The simulator's daily curve: 0.14 of the mean at night, 2.2 at the evening peak."""
    return diurnal_factor(minute * 60_000)


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


def gamma_poisson(rng: random.Random, mean: float, kappa: float) -> int:
    """A negative binomial count: variance mean + kappa·mean²."""
    lam = rng.gammavariate(1 / kappa, mean * kappa) if kappa > 0 else mean
    count, t = 0, rng.expovariate(1.0)
    while t < lam:
        count += 1
        t += rng.expovariate(1.0)
    return count


def run(det: Detector, counts: list[int], first: int = 0) -> list[tuple[int, str]]:
    """Feed minute counts; the (minute, change) of every state change."""
    out: list[tuple[int, str]] = []
    for i, x in enumerate(counts):
        change = det.update(ts(first + i), x).change
        if change is not None:
            out.append((first + i, change))
    return out


def test_overdispersed_counts_do_not_page_but_a_real_drop_does() -> None:
    """Counts about 60 a minute with variance 60 + 0.04·60² (sd 13.5 instead of 7.7): the
    negative binomial CUSUM learns the spread and stays quiet for days where a Poisson one
    would fire every few hours; a 50 % drop still fires within minutes."""
    rng = random.Random(11)
    det = Detector(DETECTOR_BY_NAME["traffic_drop"], SeasonalBaseline(warmup=20))
    clean = [gamma_poisson(rng, 60 * diurnal(m), 0.04) for m in range(5 * DAY)]
    changes = run(det, clean)
    assert [c for c in changes if c[0] >= DAY] == []
    assert 0.02 < det.dispersion.kappa() < 0.07
    start = 5 * DAY
    drop = [gamma_poisson(rng, 30 * diurnal(start + m), 0.04) for m in range(60)]
    fired = [m for m, change in run(det, drop, first=start) if change == "firing"]
    assert fired
    assert fired[0] - start <= 10


def test_a_day_running_25_percent_low_is_followed_not_paged() -> None:
    """Day-to-day swings: the level follows today, so a whole day at 75 % of the usual does
    not fire, while a sudden halving on top of it does (a shop's daily curve, quiet nights)."""
    rng = random.Random(5)
    det = Detector(DETECTOR_BY_NAME["traffic_drop"], SeasonalBaseline(warmup=20))

    def day(first: int, mean: float) -> list[int]:
        return [gamma_poisson(rng, mean * shop_curve(m), 0.01) for m in range(first, first + DAY)]

    for d in range(4):
        run(det, day(d * DAY, 20), first=d * DAY)
    assert run(det, day(4 * DAY, 15), first=4 * DAY) == []
    assert det.level.factor() < 0.85
    start = 5 * DAY + 12 * 60
    halved = [gamma_poisson(rng, 7.5 * shop_curve(start + m), 0.01) for m in range(30)]
    assert [c for _, c in run(det, halved, first=start)][:1] == ["firing"]


def test_an_alarm_on_a_new_stable_level_resolves_saying_so_and_learns_it() -> None:
    """A shop whose traffic halves for good: the drop fires, and once it has held for
    settle_minutes the detector takes the new level, resolves with it, and stays quiet."""
    rng = random.Random(2)
    spec = DETECTOR_BY_NAME["traffic_drop"]
    det = Detector(spec, SeasonalBaseline(warmup=20))
    run(det, [gamma_poisson(rng, 80 * diurnal(m), 0.01) for m in range(3 * DAY)])
    start = 3 * DAY + 10 * 60
    outs = [
        det.update(ts(start + m), gamma_poisson(rng, 40 * diurnal(start + m), 0.01))
        for m in range(2 * DAY)
    ]
    changes = [(m, o.change) for m, o in enumerate(outs) if o.change is not None]
    assert changes[0][1] == "firing"
    assert changes[1] == (changes[0][0] + (spec.settle_minutes or 0), "resolved")
    assert outs[changes[1][0]].new_level is not None
    assert 0.4 < (outs[changes[1][0]].new_level or 0) < 0.6
    assert len(changes) == 2  # quiet on the new level


def test_checkout_outage_is_judged_across_the_payment_lag() -> None:
    """Payments land 0-3 minutes after their checkout: a minute with checkouts and no payment
    is ordinary, a run of them is an outage."""
    rng = random.Random(9)
    det = Detector(DETECTOR_BY_NAME["checkout_outage"], SeasonalBaseline(warmup=20))
    pending = [0] * 4
    fired = []
    for m in range(4 * DAY):
        checkouts = gamma_poisson(rng, 4 * diurnal(m), 0.01)
        outage = 3 * DAY + 600 <= m < 3 * DAY + 660
        for _ in range(checkouts):
            if rng.random() < 0.7:
                pending[rng.randrange(4)] += 1
        paid, pending = (0 if outage else pending[0]), [*pending[1:], 0]
        if det.update(ts(m), paid, checkouts).change == "firing":
            fired.append(m)
    assert [m for m in fired if m >= DAY and not 3 * DAY + 600 <= m < 3 * DAY + 700] == []
    assert fired
    assert 3 * DAY + 600 <= fired[-1] <= 3 * DAY + 605


def test_a_new_store_is_watched_for_checkout_outages_within_its_first_hours() -> None:
    """Rates borrow the rate of the hours learned so far until their own hour is warm: a store
    two hours old has its checkout outage found, long before its hour-of-day profile is."""
    rng = random.Random(4)
    det = Detector(DETECTOR_BY_NAME["checkout_outage"], SeasonalBaseline(warmup=30))
    pending = [0] * 4
    fired = []
    for m in range(8 * 60, 11 * 60):  # its first three hours, 08:00 to 11:00
        checkouts = gamma_poisson(rng, 5.0, 0.01)
        for _ in range(checkouts):
            if rng.random() < 0.7:
                pending[rng.randrange(4)] += 1
        outage = m >= 10 * 60
        paid, pending = (0 if outage else pending[0]), [*pending[1:], 0]
        out = det.update(ts(m), paid, checkouts)
        if out.change == "firing":
            fired.append(m)
    assert not det.baseline.warm(ts(10 * 60))
    assert fired
    assert 10 * 60 <= fired[0] <= 10 * 60 + 5
