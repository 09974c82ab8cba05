"""Logical topic names (docs/architecture.md, Topics). Physical names add a namespace."""

from __future__ import annotations

from typing import Final, Literal

ORDERS: Final = "shop.orders"
CLICKS: Final = "shop.clicks"
CHATS: Final = "shop.chats"
INVENTORY: Final = "shop.inventory"
DEADLETTER: Final = "shop.deadletter"
KPIS: Final = "shoppulse.kpis"
KPIS_FINAL: Final = "shoppulse.kpis.final"
"""Final snapshots and the worker's horizons, compacted: what a restarted API reads (ADR 24)."""
ALERTS: Final = "shoppulse.alerts"
SIGNALS: Final = "shoppulse.signals"
ALERT_ACTIONS: Final = "shoppulse.alert-actions"
UNDELIVERABLE: Final = "shoppulse.undeliverable"

EventFamily = Literal["shop.orders", "shop.clicks", "shop.chats", "shop.inventory"]
SOURCE_TOPICS: Final[tuple[EventFamily, ...]] = (ORDERS, CLICKS, CHATS, INVENTORY)
