"""ShopPulse API: a materialised view of ``shoppulse.kpis`` served over REST and websockets.

The pure view lives in :mod:`api.view`; the Kafka edge in :mod:`api.feed`; the
FastAPI application in :mod:`api.app` (``create_app``) and the process entry
point in :mod:`api.server` (``serve``).
"""
