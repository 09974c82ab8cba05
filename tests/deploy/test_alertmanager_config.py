"""Alertmanager's configuration and the dispatcher's receivers file of the deployment."""

from __future__ import annotations

import shutil
import subprocess

from alerts.receivers import load_receivers
from tests.deploy.stack import ALERTMANAGER_CONFIG, PROMETHEUS_DIR, RECEIVERS, load_yaml

AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"


def amtool(*args: str) -> str:
    proc = subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, f"amtool {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
    return proc.stdout.strip()


def route(**labels: str) -> str:
    pairs = [f"{k}={v}" for k, v in labels.items()]
    return amtool("config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *pairs)


def test_amtool_accepts_the_config() -> None:
    assert "SUCCESS" in amtool("check-config", str(ALERTMANAGER_CONFIG))


def test_pipeline_alerts_and_store_alerts_reach_their_receivers() -> None:
    for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    assert route(alertname=rule["alert"], **rule["labels"]) == "platform-oncall"
    # The dispatcher's KPI alerts carry alertname, store_id, kpi and severity.
    assert route(
        alertname="gmv_dip", store_id="store-001", kpi="gmv_minor", severity="critical"
    ) == ("store-managers")


def test_the_dispatcher_sends_every_alert_to_alertmanager_and_its_log() -> None:
    config = load_receivers(RECEIVERS.read_text(encoding="utf-8"), env={})
    kinds = {r.name: r.kind for r in config.receivers}
    assert sorted(kinds.values()) == ["alertmanager", "log"]
    (catch_all,) = config.routes
    assert set(catch_all.receivers) == set(kinds)
    url = load_yaml(RECEIVERS)["receivers"][1]["alertmanager"]["url"]
    assert url == "http://alertmanager:9093"
