"""Settings, read from ``SHOPPULSE_*`` environment variables (pydantic-settings).

One model per process over shared groups, so each command reads, and its ``--help``
lists, only what applies to it (``docs/configuration.md`` has one section per group):

============================  ==========================================================
model                         read by
============================  ==========================================================
:class:`KafkaSettings`        ``broker``; the Kafka part of every model below
:class:`ProducerSettings`     ``simulate`` (Kafka and event-time windows)
:class:`ReplaySettings`       ``replay`` (and the API's history, to warn about old rows)
:class:`WorkerSettings`       ``worker``
:class:`ApiSettings`          ``api``
:class:`DispatcherSettings`   ``dispatcher``
:class:`DetectionSettings`    ``bench-detect``
:class:`Settings`             ``demo`` and ``bench``, which start every process
============================  ==========================================================

Settings are built once at the edge (the ``shoppulse`` command, the API factory, the Faust
app factory) and passed in; nothing deep inside reads the environment. A model ignores the
variables of other processes, so one environment can serve them all.

>>> s = Settings(topic_namespace="t1.", api_port=9000)
>>> s.topic("shop.orders"), ApiSettings.model_validate(s.model_dump()).api_port
('t1.shop.orders', 9000)
>>> Settings(topic_namespace="x.").to_env()["SHOPPULSE_TOPIC_NAMESPACE"]
'x.'
"""

from __future__ import annotations

from shoppulse.settings.api import ApiSettings, HistorySettings
from shoppulse.settings.base import ShopPulseSettings, env_help, env_name
from shoppulse.settings.dispatcher import DispatcherSettings
from shoppulse.settings.kafka import KafkaSettings, SaslMechanism, SecurityProtocol
from shoppulse.settings.windows import WindowSettings
from shoppulse.settings.worker import AlertRuleSettings, DetectionSettings, WorkerSettings

__all__ = [
    "AlertRuleSettings",
    "ApiSettings",
    "DetectionSettings",
    "DispatcherSettings",
    "HistorySettings",
    "KafkaSettings",
    "ProducerSettings",
    "ReplaySettings",
    "SaslMechanism",
    "SecurityProtocol",
    "Settings",
    "ShopPulseSettings",
    "WindowSettings",
    "WorkerSettings",
    "env_help",
    "env_name",
]


class ProducerSettings(KafkaSettings, WindowSettings):
    """What ``shoppulse simulate`` reads: where to produce, and what a minute is."""


class ReplaySettings(ProducerSettings, HistorySettings):
    """What ``shoppulse replay`` reads: a producer's, and how much history the API serves."""


class Settings(WorkerSettings, ApiSettings, DispatcherSettings, ReplaySettings):
    """Every process's settings: for commands that start them all (``demo``, ``bench``).

    It is each of the other models too, so it can be handed to any component.
    """
