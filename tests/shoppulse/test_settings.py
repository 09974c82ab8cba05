"""One settings model per process (shoppulse.settings): each reads its own variables only."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shoppulse.settings import (
    ApiSettings,
    DetectionSettings,
    DispatcherSettings,
    KafkaSettings,
    ProducerSettings,
    ReplaySettings,
    Settings,
    ShopPulseSettings,
    WorkerSettings,
    env_name,
)
from shoppulse.settings.base import groups

PROCESSES: list[type[ShopPulseSettings]] = [WorkerSettings, ApiSettings, DispatcherSettings]
#: The models of commands other than the three long-running processes.
COMMANDS: list[type[ShopPulseSettings]] = [
    KafkaSettings,
    ProducerSettings,
    ReplaySettings,
    DetectionSettings,
]


def test_each_process_reads_its_own_variables_and_ignores_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOPPULSE_KAFKA_BOOTSTRAP_SERVERS", "k1:9092")
    monkeypatch.setenv("SHOPPULSE_API_PORT", "9001")
    monkeypatch.setenv("SHOPPULSE_WORKER_APP_ID", "w1")
    monkeypatch.setenv("SHOPPULSE_DISPATCHER_GROUP_ID", "d1")
    api, worker, dispatcher = ApiSettings(), WorkerSettings(), DispatcherSettings()
    assert (api.kafka_bootstrap_servers, api.api_port) == ("k1:9092", 9001)
    assert (worker.kafka_bootstrap_servers, worker.worker_app_id) == ("k1:9092", "w1")
    assert (dispatcher.kafka_bootstrap_servers, dispatcher.dispatcher_group_id) == ("k1:9092", "d1")
    assert "worker_app_id" not in ApiSettings.model_fields
    assert "api_port" not in WorkerSettings.model_fields
    assert "api_port" not in DispatcherSettings.model_fields


def test_a_bad_value_for_another_process_does_not_stop_this_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOPPULSE_API_PORT", "not-a-port")
    assert WorkerSettings().worker_app_id == "shoppulse-worker"
    assert DispatcherSettings().dispatcher_drain_s == 10.0
    with pytest.raises(ValidationError, match="api_port"):
        ApiSettings()


def test_processes_share_only_the_kafka_and_window_groups() -> None:
    worker, api, dispatcher = (set(m.model_fields) for m in PROCESSES)
    kafka = set(KafkaSettings.model_fields)
    assert worker & dispatcher == kafka
    assert api & dispatcher == kafka
    assert worker & api == kafka | {"window_s", "grace_s", "idle_close_s", "max_future_skew_s"}


def test_the_groups_partition_every_field_once() -> None:
    models: list[type[ShopPulseSettings]] = [*PROCESSES, *COMMANDS, Settings]
    for model in models:
        names = [name for _, group in groups(model) for name in group]
        assert sorted(names) == sorted(model.model_fields), model.__name__
        assert all(title for title, _ in groups(model)), model.__name__


def test_the_whole_settings_is_every_model_so_any_component_takes_it() -> None:
    whole = Settings(topic_namespace="t.")
    for model in [*PROCESSES, *COMMANDS]:
        assert isinstance(whole, model)
    union: set[str] = set()
    for model in [*PROCESSES, *COMMANDS]:
        union |= set(model.model_fields)
    assert set(Settings.model_fields) == union


def test_to_env_hands_a_process_its_settings_back(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = Settings(
        topic_namespace="t.",
        api_port=9100,
        worker_batch_max=77,
        kafka_sasl_password="s3cret",
        dispatcher_heartbeat_interval_s=2.5,
    )
    for name, value in whole.to_env().items():
        monkeypatch.setenv(name, value)
    assert ApiSettings().api_port == 9100
    assert WorkerSettings().worker_batch_max == 77
    assert DispatcherSettings().dispatcher_heartbeat_interval_s == 2.5
    password = KafkaSettings().kafka_sasl_password
    assert password is not None
    assert password.get_secret_value() == "s3cret"
    assert env_name("worker_batch_max") in whole.to_env()
