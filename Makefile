# ShopPulse — every target sets itself up: a fresh machine needs only `make demo` or `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KAFKA_STAMP := $(VENV)/.kafka-jars

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z][a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

APT_PACKAGES := openjdk-17-jdk-headless maven docker-compose prometheus prometheus-alertmanager chromium

.PHONY: system-deps
system-deps: ## install Java 17, Maven, docker-compose, Prometheus, Alertmanager, Chromium (apt) if missing
	@command -v java >/dev/null && command -v mvn >/dev/null && command -v docker-compose >/dev/null \
		&& command -v promtool >/dev/null && test -x /usr/bin/prometheus-alertmanager \
		&& test -x /usr/bin/chromium || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(APT_PACKAGES); \
		  systemctl disable --now prometheus prometheus-node-exporter prometheus-alertmanager \
		    >/dev/null 2>&1 || true; }

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

$(KAFKA_STAMP): cli/kafka/pom.xml | $(STAMP)
	$(BIN)/shoppulse broker --fetch-only
	touch $(KAFKA_STAMP)

.PHONY: install
install: system-deps $(STAMP) $(KAFKA_STAMP) ## create .venv, install ShopPulse and fetch the Kafka jars

.PHONY: demo
demo: install ## run broker, worker, API and simulator; prints the dashboard URL (Ctrl-C stops)
	$(BIN)/shoppulse demo

.PHONY: test
test: install ## run the whole test suite: unit tests on two processes, then the integration tests (a real Kafka broker)
	$(BIN)/pytest -m "not integration" -n 2
	$(BIN)/pytest -m integration

.PHONY: test-unit
test-unit: install ## run the tests that need no broker
	$(BIN)/pytest -m "not integration"

.PHONY: lint
lint: install ## ruff, mypy and the layering contracts (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

.PHONY: format
format: install ## format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: docs
docs: install dashboards ## regenerate docs/kpis.md and the Grafana dashboards from the KPI registry
	$(BIN)/python -m cli.kpidoc docs/kpis.md

.PHONY: dashboards
dashboards: install ## regenerate the Grafana dashboards (dashboards/json) from the KPI registry
	$(BIN)/python -m dashboards.generate dashboards/json

.PHONY: bench
bench: install ## throughput benchmark: pipeline vs raw consume limit, one JSON line
	$(BIN)/shoppulse bench

.PHONY: clean
clean: ## remove the virtualenv, caches and local data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-artifacts
