"""ShopPulse API: a materialised view of ``shoppulse.kpis`` served over REST and websockets.

The pure view lives in :mod:`api.view` (its minutes in :mod:`api.store_minutes`, its
rollups in :mod:`api.rollups`); the Kafka edge in :mod:`api.feed`; the
FastAPI application in :mod:`api.app` (``create_app``) and the process entry
point in :mod:`api.server` (``serve``).
"""
