"""ShopPulse core: the pure domain of the KPI monitor.

Event contracts, window arithmetic, additive KPI components, the KPI registry,
snapshots and settings. Nothing here imports Faust, FastAPI or a Kafka client:
the components (``streams``, ``api``, ``alerts``, ``cli``) import this package,
never the reverse.
"""

__version__ = "0.1.0"
