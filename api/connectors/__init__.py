"""Connectors: events of the tools shops already run, mapped to ShopPulse's events.

The mapping modules (:mod:`api.connectors.segment`, :mod:`api.connectors.shopify`) are pure
functions from a source payload to ``{"topic", "event"}`` envelopes of ``POST
/api/v1/events``; :mod:`api.connectors.produce` validates and produces them exactly as that
route does. ``docs/connectors.md`` documents every field.
"""
