"""Prometheus' configuration, recording and alerting rules: promtool checks and unit tests."""

from __future__ import annotations

import re
from typing import Any

from tests.deploy.stack import (
    PROMETHEUS_CONFIG,
    PROMETHEUS_DIR,
    load_yaml,
    loopback_prometheus_config,
)
from tests.promtool import promtool

RULES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))


def _rules(kind: str) -> list[dict[str, Any]]:
    return [
        rule
        for path in RULES
        for group in load_yaml(path)["groups"]
        for rule in group["rules"]
        if kind in rule
    ]


def test_promtool_checks_the_config_and_its_rule_files() -> None:
    out = promtool("check", "config", str(PROMETHEUS_CONFIG), cwd=PROMETHEUS_DIR)
    assert "SUCCESS" in out
    for path in RULES:
        assert "SUCCESS" in promtool("check", "rules", str(path))


def test_promtool_rule_unit_tests_pass() -> None:
    assert RULE_TESTS
    for path in RULE_TESTS:
        assert "SUCCESS" in promtool("test", "rules", path.name, cwd=path.parent)


def test_every_alert_is_routable_documented_and_unit_tested() -> None:
    tested = {
        case["alertname"]
        for path in RULE_TESTS
        for test in load_yaml(path)["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    alerts = _rules("alert")
    assert {a["alert"] for a in alerts} == {
        "ShopPulseWorkerDown",
        "ShopPulseNoWorker",
        "ShopPulseWorkerLost",
        "ShopPulseServiceDown",
        "ShopPulseConsumerLagGrowing",
        "ShopPulseDeadLetterRatioHigh",
        "ShopPulseDeadLettersRising",
        "ShopPulseKpisStale",
        "ShopPulseStoreKpisStale",
        "ShopPulseNotificationsFailing",
    }
    for rule in alerts:
        assert rule["alert"] in tested, f"{rule['alert']} never fires in a rule unit test"
        assert rule["labels"]["component"] == "pipeline"
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]


def test_recording_rules_follow_the_naming_convention() -> None:
    for rule in _rules("record"):
        assert re.fullmatch(r"shoppulse:\w+:\w+", rule["record"]), rule["record"]


def test_the_test_copy_changes_only_the_addresses() -> None:
    original = load_yaml(PROMETHEUS_CONFIG)
    jobs = [job["job_name"] for job in original["scrape_configs"]]
    targets = {job: [f"127.0.0.1:{9000 + i}"] for i, job in enumerate(jobs)}
    rewritten = loopback_prometheus_config(original, targets, ["127.0.0.1:9999"])

    def without_addresses(config: dict[str, Any]) -> dict[str, Any]:
        config = dict(config)
        config["scrape_configs"] = [
            {k: v for k, v in job.items() if not k.endswith(("_sd_configs", "static_configs"))}
            for job in config["scrape_configs"]
        ]
        config.pop("alerting")
        return config

    assert without_addresses(rewritten) == without_addresses(original)
    assert rewritten["scrape_configs"][0]["static_configs"] == [{"targets": ["127.0.0.1:9000"]}]
    assert original["scrape_configs"][0]["dns_sd_configs"][0]["names"] == ["worker"]
