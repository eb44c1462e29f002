# Baylink: `make up` runs the whole system, `make test` runs every test.
# Each target does the setup it needs; repeated runs are harmless.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON_BIN ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
KAFKA := deploy/kafka/kafka.sh
PG := deploy/postgres/pg.sh

.PHONY: help system-deps system-deps-test setup protos protos-check kafka-up kafka-down up down cluster-up cluster-down test unit chaos lint bench clean deploy-check

help:
	@echo "make up      set up and start Kafka and every service, print their addresses"
	@echo "make test    run all tests (starts Kafka and PostgreSQL if needed, stops what it started)"
	@echo "make unit    the unit tests only: no broker, no PostgreSQL, under a minute"
	@echo "make chaos   kill processes of deploy/cluster.sh under load, check nothing is lost (docs/chaos.md)"
	@echo "make down    stop everything 'make up' started"
	@echo "make cluster-up    three Kafka nodes, PostgreSQL, two replicas of every service (deploy/cluster.sh)"
	@echo "make cluster-down  stop all of it"
	@echo "make deploy-check  render deploy/k8s (kustomize) and validate every object offline"
	@echo "make lint    ruff, mypy, the architecture check, buf lint/breaking, generated code up to date"
	@echo "make bench   benchmarks against the real broker"
	@echo "make fuzz    fuzz every door for long (BAYLINK_FUZZ_EXAMPLES per door, default 10000)"
	@echo "make protos  regenerate baylink/*/v1 from protos/"

# -- setup ----------------------------------------------------------------------------

# System packages (apt-get as root; elsewhere a message naming what to install).
system-deps:
	@bash scripts/system-deps.sh run

system-deps-test:
	@bash scripts/system-deps.sh test

$(STAMP): pyproject.toml | system-deps
	@command -v $(PYTHON_BIN) >/dev/null || { echo "need $(PYTHON_BIN)"; exit 1; }
	@[ -x $(PY) ] || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

setup: $(STAMP)
	@bash $(KAFKA) fetch
	@bash scripts/gen_protos.sh --check >/dev/null || bash scripts/gen_protos.sh

protos: $(STAMP)
	bash scripts/gen_protos.sh

protos-check: $(STAMP)
	bash scripts/gen_protos.sh --check

# -- running ----------------------------------------------------------------------------

kafka-up: $(STAMP)
	bash $(KAFKA) start
	$(VENV)/bin/baylink topics apply

kafka-down:
	bash $(KAFKA) stop

up: setup kafka-up
	bash deploy/services.sh start
	bash deploy/seed-local.sh

down:
	bash deploy/services.sh stop
	bash $(KAFKA) stop
	bash $(PG) stop

# Past one machine, rehearsed on this one (deploy/cluster.sh; docs/operations.md).
cluster-up: setup
	bash deploy/cluster.sh up

cluster-down:
	bash deploy/cluster.sh down

# -- checks -----------------------------------------------------------------------------

# Everything: the suite on the dev broker and PostgreSQL, then the three-node cluster's tests, then
# the chaos suite's short set (a broker, a payments and a gateway kill) on deploy/cluster.sh.
test: system-deps-test setup deploy-check
	BAYLINK_TEST_KAFKA_CLUSTER=$${BAYLINK_TEST_KAFKA_CLUSTER:-1} BAYLINK_CHAOS=$${BAYLINK_CHAOS:-short} bash scripts/test.sh

# The Kubernetes manifests (deploy/k8s): kustomize from the Go module proxy (scripts/install-kustomize.sh),
# then every object of every overlay validated offline (devtools/deploycheck; docs/operations.md).
deploy-check: $(STAMP)
	@bash scripts/install-kustomize.sh >/dev/null
	$(PY) -m devtools.deploycheck check

unit: $(STAMP)
	bash scripts/test.sh --unit

# The chaos suite: brings deploy/cluster.sh up (Kafka as BAYLINK_CLUSTER_KAFKA says; the suite's
# default is the dev broker) and down again; `make test` runs its short set when BAYLINK_CHAOS=short.
chaos: system-deps-test setup
	BAYLINK_CHAOS=all bash scripts/test.sh --chaos

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) scripts/check_architecture.py
	$(VENV)/bin/buf lint protos
	bash scripts/buf_breaking.sh
	bash scripts/gen_protos.sh --check

bench: setup
	bash scripts/bench.sh

clean: down
	rm -rf .local

# -- fuzzing ----------------------------------------------------------------------------
# `make test` runs the fuzzers with a small bounded sample; this is the long run: 10,000 examples
# per door unless BAYLINK_FUZZ_EXAMPLES says otherwise, then per door: examples tried, 5xx/INTERNAL found.

.PHONY: fuzz
fuzz: system-deps-test setup
	BAYLINK_FUZZ_EXAMPLES=$${BAYLINK_FUZZ_EXAMPLES:-10000} bash scripts/test.sh -n 0 tests/fuzz -p no:cacheprovider
