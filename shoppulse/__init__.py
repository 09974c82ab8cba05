"""ShopPulse core: the pure domain of the KPI monitor.

Event contracts, window arithmetic, additive KPI components, the KPI registry,
snapshots and settings. Nothing here imports Faust, FastAPI, a Kafka or an HTTP client:
the components (``streams``, ``api``, ``alerts``, ``cli``), the Kafka adapter
(``kafka_io``), the simulator (``simulator``), the detection benchmark (``bench``) and
the dashboard generator (``dashboards``) import this package, never the reverse
(import-linter contracts in ``pyproject.toml``, checked by ``make lint``).
"""

__version__ = "0.1.0"
