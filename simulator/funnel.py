"""The simulated shopper: the funnel's and the order and chat lifecycles' probabilities, the
channels sessions come from, and what a session causes on average."""

from __future__ import annotations

import math
from typing import Final

CHANNELS: Final[tuple[str, ...]] = ("organic", "paid", "social", "email", "direct", "referral")
CHANNEL_WEIGHTS: Final[tuple[float, ...]] = (0.34, 0.20, 0.12, 0.08, 0.18, 0.08)

# Funnel and lifecycle probabilities (per step), tuned for ~5% paid conversion per session.
EXTRA_IMPRESSIONS: Final = 2.5  # impressions per session = 1 + Poisson(2.5)
P_PRODUCT_VIEW: Final = 0.18  # an impression leads to a product view
P_ADD_TO_CART: Final = 0.28  # a product view leads to an add-to-cart (when in stock)
P_EXTRA_PAGE_VIEW: Final = 0.3  # a page view between impressions
P_CHECKOUT: Final = 0.6  # a non-empty cart is checked out
P_PLACE: Final = 0.85  # a checkout becomes a placed order
P_PAY: Final = 0.9  # a placed order is paid (times a conversion-drop factor)
P_CANCEL_AFTER_PAID: Final = 0.02
P_REFUND: Final = 0.05  # of shipped orders
P_RETURNING_VISITOR: Final = 0.35
P_EXPERIMENT: Final = 0.3
P_CHAT_PER_SESSION: Final = 0.04
CHAT_EXCHANGES: Final = 2.0  # extra customer/agent message pairs = Poisson(2)
P_TRANSFER: Final = 0.10
P_ESCALATE: Final = 0.05
P_RESOLVE: Final = 0.9
P_RATE: Final = 0.5
P_NPS: Final = 0.3
P_COMPLAINT: Final = 0.08
RATING_WEIGHTS: Final[tuple[float, ...]] = (0.05, 0.05, 0.10, 0.30, 0.50)
THINK_MS: Final = 6_000.0  # mean time between a visitor's clicks

#: Sessions per minute of a store with size factor 1.0 at the daily-average hour,
#: when no total ``events_per_s`` is given (≈ 10 paid orders a minute).
DEFAULT_SESSIONS_PER_MIN: Final = 200.0


def expected_events_per_session() -> float:
    """The mean number of events one session causes (clicks, orders, inventory, chats).

    >>> 6.0 < expected_events_per_session() < 8.0
    True
    """
    impressions = 1.0 + EXTRA_IMPRESSIONS
    views = impressions * P_PRODUCT_VIEW
    carts = views * P_ADD_TO_CART
    q = 1.0 - P_PRODUCT_VIEW * P_ADD_TO_CART
    p_cart = 1.0 - q * math.exp(-EXTRA_IMPRESSIONS * (1.0 - q))
    checkouts = p_cart * P_CHECKOUT
    clicks = 1.0 + impressions + views + carts + impressions * P_EXTRA_PAGE_VIEW + checkouts
    placed = checkouts * P_PLACE
    paid = placed * P_PAY
    shipped = paid * (1.0 - P_CANCEL_AFTER_PAID)
    orders = placed + paid + (placed - paid) + paid * P_CANCEL_AFTER_PAID + shipped
    orders += shipped * P_REFUND
    inventory = paid * carts / max(p_cart, 1e-9)  # one update per SKU line sold
    chat = 3.0 + 2.0 * CHAT_EXCHANGES + P_TRANSFER + P_ESCALATE + P_RESOLVE * (1 + P_RATE)
    return clicks + orders + inventory + P_CHAT_PER_SESSION * chat


def expected_orders_per_session() -> float:
    """The mean number of orders placed per session.

    >>> 0.05 < expected_orders_per_session() < 0.2
    True
    """
    q = 1.0 - P_PRODUCT_VIEW * P_ADD_TO_CART
    p_cart = 1.0 - q * math.exp(-EXTRA_IMPRESSIONS * (1.0 - q))
    return p_cart * P_CHECKOUT * P_PLACE
