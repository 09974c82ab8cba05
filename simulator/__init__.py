"""The traffic simulator: seeded, pure event generation for N stores (no Kafka, no clock).

:mod:`simulator.simulation` (the :class:`~simulator.simulation.Simulator`),
:mod:`simulator.funnel` (the shopper's probabilities), :mod:`simulator.incidents` (injected
incidents), :mod:`simulator.regions` (currencies and UTC offsets),
:mod:`simulator.store_profiles` (tiny, night-silent, bursty, gapped, late stores),
:mod:`simulator.traffic_variance` (traffic as wild as real shops') and
:mod:`simulator.durations`. It builds on the core (``shoppulse``); ``cli/simulate.py`` and
the demo send its events to Kafka.
"""
