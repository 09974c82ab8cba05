"""The Faust worker: source topics → validated events → store-minutes → ``shoppulse.kpis``."""
