"""The detection benchmark: seeded traffic with known incidents through the pipeline's detectors.

:mod:`bench.traffic` (minute series of a store's funnel), :mod:`bench.incidents`,
:mod:`bench.pipeline` (the worker's own ``StoreDetectors``), :mod:`bench.oracle` (a CUSUM told
the truth), :mod:`bench.report` (the figures) and :mod:`bench.detection`, which runs them.
``shoppulse bench-detect`` (``cli/bench_detect.py``) is its command.
"""
