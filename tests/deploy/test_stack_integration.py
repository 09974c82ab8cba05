"""The full stack on this machine, configured with the deployment's files: the session's
Kafka broker, a real ``shoppulse worker``, ``shoppulse api`` and ``shoppulse dispatcher``,
Alertmanager and Prometheus (Debian binaries, ``deploy/`` configuration, addresses
rewritten to loopback ports). Simulated traffic (today, and the same time yesterday) flows
through the pipeline; then

- ``promtool check metrics`` accepts the real ``/metrics`` of the worker, API and dispatcher;
- every query of every generated Grafana dashboard, with its variables resolved (each
  store of the ``store`` variable's query, two stores and ``all``, and every ``window``),
  returns sensible data from Prometheus: within bounds, shares at most 1, traffic
  panels above 0; and ``all`` is the sum of the stores for counts;
- the worker's compose healthcheck passes against the real, ready worker;
- the rules load and evaluate, Prometheus finds Alertmanager, and a KPI alert reaches
  Alertmanager through the dispatcher's receivers file.

Grafana itself cannot be installed here; its dashboards are checked through their queries.
Every wait is bounded.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaProducer

from cli.broker import free_port
from cli.processes import Child, shoppulse_command
from dashboards.generate import render_all
from dashboards.grafana import panel_targets, resolve
from kafka_io.admin import ensure_topics
from kafka_io.config import kafka_python_config
from shoppulse.alert_shape import alert
from shoppulse.kpis import REGISTRY, kpi_inputs
from shoppulse.metric_names import KPI_METRIC_BY_NAME, KPI_METRICS
from shoppulse.settings import Settings
from shoppulse.topics import ALERTS, CLICKS, ORDERS
from tests.api.api_process import ApiProcess
from tests.api.traffic import LiveTraffic, wall_ms
from tests.conftest import WORKER_READY_TIMEOUT_S
from tests.deploy.stack import (
    ALERTMANAGER_CONFIG,
    PROMETHEUS_DIR,
    PROVISIONING,
    PromApi,
    Server,
    alertmanager,
    finite,
    load_yaml,
    loopback_receivers,
    prometheus,
    wait_until,
    worker_healthcheck,
    write_prometheus_dir,
)
from tests.promtool import check_metrics

pytestmark = pytest.mark.integration

BACKLOG_S = 2 * 3600  # fulfilment needs orders shipped 1 to 8 hours after payment
EVENTS_PER_S = 3.0  # over every store
STORES = ("store-001", "store-002")  # in EUR and USD: money of "all" is null
JOBS = ("shoppulse-worker", "shoppulse-api", "shoppulse-dispatcher", "prometheus", "alertmanager")
PANELS_TIMEOUT_S = 150.0
SHARES = {  # KPIs that are a part of their denominator, by construction
    "csat_share",
    "first_response_within_30s",
    "bounce_rate",
    "organic_share",
    "gross_margin",
    "cart_abandonment",
    "repeat_purchase_rate",
    "new_customer_share",
    "first_contact_resolution",
    "repeat_customer_gmv_share",
}
KPI_BY_METRIC = {m.name: m for m in KPI_METRICS}
METRIC_IN_EXPR = re.compile(r"\bshoppulse[_:](kpi_\w+?)[{:]")  # a gauge or a recorded series
WINDOW_IN_EXPR = re.compile(r'window="(\w+)"')
STORE_IN_EXPR = re.compile(r'store_id="([\w-]+)"')
TRAFFIC_KPIS = {"sessions", "visitors"}
"""Above 0 in every current series during traffic (every minute has clicks)."""
TRAFFIC_PANELS = {"Targets up", "Events counted / s", "KPI snapshots / s"}
"""Pipeline panels with some series above 0 during traffic."""
SHORT_WINDOWS = {"1m", "5m"}
NEVER_EMPTY = {"orders", "sessions", "visitors", "conversations"}
"""KPIs that always have a sample; over a short window the others may lack their
denominator (the smaller store has no rating, no shipment, no NPS answer in most
five-minute windows of this traffic) and have none (over 1h and today they have one)."""
SUMMED = ("orders", "conversations")
"""Counts: ``all`` is the sum of the stores (5m, 1h and today; 1m is the latest minute
any store has, which need not be each store's latest)."""
MONEY = {k.name for k in REGISTRY if any(c.endswith("_minor") for c in kpi_inputs(k))}
"""KPIs that read money: null for ``all`` over windows where both stores (EUR and USD) have
minutes (1h, today; a recorded today-against-yesterday ratio is today's). ``1m`` of
``all`` is the latest minute any store has, which may be one store's alone."""


@dataclass
class Stack:
    settings: Settings
    worker_metrics: str
    api: ApiProcess
    dispatcher_metrics: str
    prometheus: PromApi
    prometheus_started_s: float
    alertmanager_url: str
    alert_name: str


def _child(name: str, argv: list[str], log_dir: Path, settings: Settings) -> Child:
    child = Child(name=name, argv=argv, log_path=log_dir / f"{name}.log", env=settings.to_env())
    child.start()
    return child


def _metrics_up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _produce_bad_and_late_events(settings: Settings, old_ts_ms: int) -> None:
    producer = KafkaProducer(**kafka_python_config(settings), acks="all")
    try:
        for i in range(3):
            producer.send(settings.topic(ORDERS), key=b"store-001", value=b"{not json %d" % i)
        late = {
            "event_id": "late-click-1",
            "store_id": "store-001",
            "ts": old_ts_ms,
            "session_id": "late-session",
            "visitor_id": "late-visitor",
            "kind": "page_view",
        }
        producer.send(settings.topic(CLICKS), key=b"store-001", value=orjson.dumps(late))
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def _produce_alert(settings: Settings, name: str) -> None:
    record = alert(
        name=name,
        store_id="store-001",
        kpi="payment_conversion",
        severity="warning",
        status="firing",
        starts_at_ms=wall_ms() - 60_000,
        ends_at_ms=None,
        value=0.01,
        expected=0.05,
        summary="Payment conversion dropped",
        description="Injected by the stack test.",
    )
    producer = KafkaProducer(**kafka_python_config(settings), acks="all")
    try:
        producer.send(settings.topic(ALERTS), key=b"store-001", value=orjson.dumps(record))
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    ports = {name: free_port() for name in ("worker", "api", "dispatcher", "prom", "am")}
    settings = Settings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_namespace=f"stack{int(time.time())}.",
        worker_data_dir=tmp / "worker",
        grace_s=2.0,
        idle_close_s=3.0,
        worker_metrics_port=ports["worker"],
        dispatcher_metrics_port=ports["dispatcher"],
        receivers_file=tmp / "receivers.yml",
    )
    ensure_topics(settings)
    servers: list[Server] = []
    children: list[Child] = []
    am = alertmanager(ALERTMANAGER_CONFIG, tmp / "am-data", ports["am"], tmp / "am.log")
    traffic = LiveTraffic(
        settings,
        stores=len(STORES),
        seed=41,
        backlog_s=BACKLOG_S,
        events_per_s=EVENTS_PER_S,
        yesterday_s=600,
    )
    api = ApiProcess(settings, ports["api"], tmp)
    try:
        am.start()
        servers.append(am)
        assert settings.receivers_file is not None
        settings.receivers_file.write_text(loopback_receivers(am.base_url), encoding="utf-8")
        worker = _child("worker", shoppulse_command("worker"), tmp, settings)
        children.append(worker)
        worker.wait_for("Worker]: Ready", WORKER_READY_TIMEOUT_S)
        traffic.start()
        assert traffic.backlog_done.wait(120), "the backlog was not produced"
        alert_name = "stack_test_conversion_drop"
        _produce_alert(settings, alert_name)
        api.start(ready_timeout_s=120)
        children.append(_child("dispatcher", shoppulse_command("dispatcher"), tmp, settings))
        dispatcher_metrics = f"http://127.0.0.1:{ports['dispatcher']}/metrics"
        wait_until("the dispatcher's /metrics", lambda: _metrics_up(dispatcher_metrics), 60)
        targets = {
            "shoppulse-worker": [f"127.0.0.1:{ports['worker']}"],
            "shoppulse-api": [f"127.0.0.1:{ports['api']}"],
            "shoppulse-dispatcher": [f"127.0.0.1:{ports['dispatcher']}"],
            "prometheus": [f"127.0.0.1:{ports['prom']}"],
            "alertmanager": [f"127.0.0.1:{ports['am']}"],
        }
        config = write_prometheus_dir(tmp, targets, [f"127.0.0.1:{ports['am']}"])
        prom = prometheus(config, tmp / "prom-data", ports["prom"], tmp / "prometheus.log")
        started = time.time()
        prom.start()
        servers.append(prom)
        api_prom = PromApi(prom.base_url)

        def all_up() -> bool:
            for child in children:  # a crashed process is reported, not waited for
                if not child.alive():
                    log = child.log_path.read_text(errors="replace")[-3000:]
                    raise AssertionError(f"{child.name} exited:\n{log}")
            up = {s["metric"]["job"]: float(s["value"][1]) for s in api_prom.query("up")}
            return all(up.get(job) == 1.0 for job in JOBS)

        wait_until("up == 1 for every job", all_up, 60)
        _produce_bad_and_late_events(settings, traffic.start_ms + 60_000)
        yield Stack(
            settings=settings,
            worker_metrics=f"http://127.0.0.1:{ports['worker']}/metrics",
            api=api,
            dispatcher_metrics=dispatcher_metrics,
            prometheus=api_prom,
            prometheus_started_s=started,
            alertmanager_url=am.base_url,
            alert_name=alert_name,
        )
    finally:
        traffic.stop()
        api.stop()
        for child in reversed(children):
            child.stop()
        for server in reversed(servers):
            server.stop()


def test_the_worker_healthcheck_passes_against_the_ready_worker(stack: Stack) -> None:
    port = int(stack.worker_metrics.split(":")[-1].removesuffix("/metrics"))
    wait_until("the worker's first beat", lambda: worker_healthcheck(port) == 0, 60)


def test_promtool_accepts_the_metrics_of_the_worker_api_and_dispatcher(stack: Stack) -> None:
    worker = httpx.get(stack.worker_metrics, timeout=10)
    api = httpx.get(f"{stack.api.base_url}/metrics", timeout=30)
    dispatcher = httpx.get(stack.dispatcher_metrics, timeout=10)
    for response, families in (
        (worker, ("shoppulse_events_total", "shoppulse_consumer_lag_records", "process_cpu")),
        (api, ("shoppulse_kpi_gmv_minor", "shoppulse_websocket_clients", "shoppulse_store")),
        (dispatcher, ("shoppulse_notifications_total", "shoppulse_notifications_queued")),
    ):
        assert response.status_code == 200
        for family in families:
            assert family in response.text, (response.url, family)
        check_metrics(response.content)


def _kpi(expr: str) -> str | None:
    match = METRIC_IN_EXPR.search(expr)
    return None if match is None else KPI_BY_METRIC[f"shoppulse_{match.group(1)}"].kpi.name


def _bounds(expr: str) -> tuple[float, float]:
    """What a sensible value of the query is."""
    if expr.startswith("time() -"):
        return (-5.0, 2 * 86_400.0)  # an age in seconds
    if expr.endswith("- 1"):
        return (-1.0, math.inf)  # a relative change
    kpi = _kpi(expr)
    if kpi == "nps":
        return (-100.0, 100.0)
    if kpi == "csat_mean":
        return (1.0, 5.0)
    if kpi in SHARES:
        return (0.0, 1.0)
    return (0.0, math.inf)


def _query_problems(
    stack: Stack, panel: dict[str, Any], expr: str, start: float, now: float, scrape_s: float
) -> list[str]:
    """What is wrong with one resolved query's data over ``[start, now]``."""
    series = stack.prometheus.query_range(expr, start, now, scrape_s)
    kpi = _kpi(expr)
    store = STORE_IN_EXPR.search(expr)
    window = WINDOW_IN_EXPR.search(expr)
    if kpi in MONEY and store is not None and store.group(1) == "all":
        if (window.group(1) if window else "today") in {"1h", "today"}:
            # Money summed across the stores' two currencies is null: no sample.
            return [f"{len(series)} series of money across currencies"] if series else []
        if not series:
            return []  # the latest minute(s) of both stores: no sample either
    if not series:
        short = window is not None and window.group(1) in SHORT_WINDOWS
        return [] if short and kpi not in NEVER_EMPTY else ["no data"]
    samples = [v for s in series for v in finite(s["values"])]
    if not samples:
        return ["no finite value"]
    lo, hi = _bounds(expr)
    wrong = [v for v in samples if not lo <= v <= hi]
    if wrong:
        return [f"{wrong[:3]} outside [{lo}, {hi}]"]
    if kpi in TRAFFIC_KPIS and 'period="current"' in expr:
        idle = [s["metric"] for s in series if not any(v > 0 for v in finite(s["values"]))]
        if idle:
            return [f"no traffic in {idle}"]
    if panel["title"] in TRAFFIC_PANELS and not any(v > 0 for v in samples):
        return ["no traffic"]
    return []


def _panel_problems(stack: Stack, boards: list[dict[str, Any]]) -> tuple[list[str], int]:
    """Every panel query of ``boards`` under every resolution of their variables (each
    distinct query once); returns the problems and the number of queries run."""
    now = time.time()
    start = max(stack.prometheus_started_s, now - 600)
    scrape_s = float(
        load_yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"][0]["jsonData"][
            "timeInterval"
        ].removesuffix("s")
    )
    seen: dict[str, list[str]] = {}
    out = []
    for board in boards:
        for values in _resolutions(stack, board):
            for panel, target in panel_targets(board):
                expr = resolve(target["expr"], values, scrape_s=scrape_s)
                if expr not in seen:
                    seen[expr] = _query_problems(stack, panel, expr, start, now, scrape_s)
                where = f"{board['uid']} / {panel['title']} / {expr}"
                out += [f"{where}: {problem}" for problem in seen[expr]]
    return out, len(seen)


def _resolutions(stack: Stack, board: dict[str, Any]) -> list[dict[str, str]]:
    """The dashboard's variables resolved in every combination: each option of a custom
    variable, each value of a query variable's ``label_values`` query."""
    choices: dict[str, list[str]] = {}
    for variable in board["templating"]["list"]:
        if variable["type"] == "custom":
            options = [o["value"] for o in variable["options"]]
            assert variable["current"]["value"] in options
            choices[variable["name"]] = options
        else:
            match = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["definition"])
            assert match, variable["definition"]
            metric, label = match.groups()
            options = stack.prometheus.label_values(label, metric)
            assert options, f"{board['uid']}: variable {variable['name']} has no option"
            choices[variable["name"]] = options
    return [
        dict(zip(choices, combination, strict=True))
        for combination in itertools.product(*choices.values())
    ]


def _sum_problems(stack: Stack) -> list[str]:
    """``all`` against the stores at one instant (one scrape of the API)."""
    at = time.time()
    out = []
    for kpi in SUMMED:
        metric = KPI_METRIC_BY_NAME[kpi].name
        for window in ("5m", "1h", "today"):
            for period in ("current", "yesterday"):
                selector = f'{metric}{{window="{window}", period="{period}"}}'
                values = {
                    s["metric"]["store_id"]: float(s["value"][1])
                    for s in stack.prometheus.query(selector, at=at)
                }
                total = sum(v for store, v in values.items() if store != "all")
                if period == "current" and set(values) != {*STORES, "all"}:
                    out.append(f"{selector}: stores {sorted(values)}")
                elif values and not math.isclose(values.get("all", math.nan), total):
                    out.append(f"{selector}: all {values.get('all')} != sum {total} ({values})")
    gmv = KPI_METRIC_BY_NAME["gmv_minor"].name
    today = {
        s["metric"]["store_id"]
        for s in stack.prometheus.query(f'{gmv}{{window="today", period="current"}}', at=at)
    }
    if today != set(STORES):  # each store's own currency; none across EUR and USD
        out.append(f"{gmv} today: {sorted(today)}")
    return out


def test_every_dashboard_panel_query_returns_sensible_data(stack: Stack) -> None:
    boards = [orjson.loads(text) for text in render_all().values()]
    assert SHARES.issubset({k.name for k in REGISTRY if k.unit == "ratio"})
    stores = stack.prometheus.label_values("store_id", "shoppulse_kpi_orders")
    assert set(stores) == {*STORES, "all"}
    currencies = stack.prometheus.query("count by (currency) (shoppulse_store_info)")
    assert len(currencies) == len(STORES), currencies  # so money of "all" is null
    deadline = time.monotonic() + PANELS_TIMEOUT_S
    problems: list[str] = ["not evaluated"]
    evaluated = 0
    while problems and time.monotonic() < deadline:
        problems, evaluated = _panel_problems(stack, boards)
        problems += _sum_problems(stack)
        if problems:
            time.sleep(5)
    assert not problems, f"{len(problems)} problems, {evaluated} queries:\n" + "\n".join(
        problems[:40]
    )
    # 3 store choices x 4 windows of the KPI dashboards, and the pipeline: 571 distinct.
    assert evaluated > 500


def test_rules_evaluate_and_prometheus_finds_alertmanager(stack: Stack) -> None:
    files = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
    rules_in_files = sum(len(g["rules"]) for f in files for g in load_yaml(f)["groups"])
    assert rules_in_files >= 18

    def rules_evaluated() -> bool:
        groups = stack.prometheus.get("rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return len(rules) == rules_in_files and all(
            r.get("lastEvaluation", "").startswith("2") for r in rules
        )

    wait_until("every rule evaluated", rules_evaluated, 60)
    groups = stack.prometheus.get("rules")["groups"]
    assert {g["name"] for g in groups} == {
        "shoppulse-pipeline",
        "shoppulse-pipeline-recording",
        "shoppulse-kpi-recording",
    }
    for group in groups:
        for rule in group["rules"]:
            assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
    active = stack.prometheus.get("alertmanagers")["activeAlertmanagers"]
    assert [a["url"] for a in active] == [f"{stack.alertmanager_url}/api/v2/alerts"]
    # The recorded dead-letter share sees the bad events produced after start-up.
    wait_until(
        "dead letters recorded",
        lambda: any(
            float(s["value"][1]) > 0
            for s in stack.prometheus.query("shoppulse:dead_letters:rate5m")
        ),
        60,
    )


def test_a_kpi_alert_reaches_alertmanager_through_the_dispatcher(stack: Stack) -> None:
    def delivered() -> list[dict[str, Any]]:
        body = httpx.get(f"{stack.alertmanager_url}/api/v2/alerts", timeout=5).json()
        return [a for a in body if a["labels"].get("alertname") == stack.alert_name]

    wait_until("the alert in Alertmanager", lambda: bool(delivered()), 60)
    (received,) = delivered()
    assert received["labels"]["store_id"] == "store-001"
    assert [r["name"] for r in received["receivers"]] == ["store-managers"]
    firing = stack.prometheus.query('shoppulse_alerts_firing{store_id="store-001"}')
    assert sum(float(s["value"][1]) for s in firing) >= 1
