# NexusAPI Platform. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := venv
PY := $(VENV)/bin/python
STACK ?= dev
STAMP := $(VENV)/.requirements.sha

.PHONY: help setup local local-down tenant-move tenant-cleanup tenant-shard bench-tenant-move test test-unit test-infra test-integration preview preview-diff cost lint format bench clean policy actionlint cfn-lint checkov image bootstrap-preview

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'

setup: ## Install system packages and create venv/ with every dependency (idempotent)
	@bash scripts/setup.sh

LOCAL_ARGS ?=
local: setup ## Run the whole stack locally on 127.0.0.1 (http://127.0.0.1:8080) until Ctrl-C; LOCAL_ARGS="--http-port 8081 --port-base 27400"
	$(PY) -m devstack up $(LOCAL_ARGS)

local-down: ## Stop what a killed `make local` left running
	$(PY) -m devstack down

tenant-move: setup ## Move a tenant to another shard of the running local stack: make tenant-move TENANT=acme TO=shard-b
	$(PY) -m devstack.tenants move $(TENANT) --to $(TO) --stack dev

tenant-shard: setup ## What a local shard records of its tenants; fails while one blocks removing it: make tenant-shard SHARD=shard-a
	$(PY) -m devstack.tenants shard $(SHARD)

bench-tenant-move: setup ## How long a tenant move freezes writes, on a temporary local stack (~3 min; docs/shards.md)
	$(PY) -m bench.tenant_move

tenant-cleanup: setup ## Delete a moved tenant's retired rows: make tenant-cleanup TENANT=acme [GRACE=86400]
	$(PY) -m devstack.tenants move --cleanup $(TENANT) --grace-seconds $(or $(GRACE),86400)

test: setup ## Run the whole test suite (unit, infra under mocks, integration on real local services)
	$(PY) -m pytest

test-unit: setup ## Run only the fast unit and infra tests
	$(PY) -m pytest -m "unit or infra"

test-infra: setup ## Run only the infra tests (the Pulumi program under the offline mock runtime)
	$(PY) -m pytest -m infra

test-integration: setup ## Run only the tests against real local services
	$(PY) -m pytest -m integration

preview: setup ## Offline preview of a stack under the mock runtime: make preview STACK=prod
	$(PY) -m stacks.preview --stack $(STACK)

preview-diff: setup ## Change view of an edited stack file: make preview-diff STACK=dev CONFIG=edited.yaml [AGAINST=file | AGAINST_JSON=base.json]
	$(if $(CONFIG),,$(error CONFIG=<edited stack file> is required))
	$(PY) -m stacks.preview --stack $(STACK) --config-file $(CONFIG) \
		$(if $(AGAINST_JSON),--against-json $(AGAINST_JSON),--against $(or $(AGAINST),Pulumi.$(STACK).yaml))

bootstrap-preview: setup ## Offline preview of an account bootstrap (bootstrap/): make bootstrap-preview STACK=prod
	$(PY) -m stacks.bootstrap.preview --stack $(STACK)

cost: setup ## Monthly cost per kind and shard: make cost STACK=prod [CONFIG=edited.yaml AGAINST=Pulumi.prod.yaml]
	$(PY) -m stacks.cost --stack $(STACK) $(if $(CONFIG),--config-file $(CONFIG)) $(if $(AGAINST),--against $(AGAINST))

policy: setup ## The policy pack's tests: every rule of policy.RULES as Pulumi runs it, on every stack
	$(PY) -m pytest -q tests/delivery/test_policy_pack.py

cfn-lint: setup ## cfn-lint (AWS's resource schemas) over every stack's plan as CloudFormation; counts last
	$(PY) -m judges cfn-lint

checkov: setup ## checkov's terraform_plan checks over every stack's plan as a Terraform plan; counts last
	$(PY) -m judges checkov


actionlint: setup ## actionlint (with shellcheck) over .github/workflows; make test runs it too
	$(VENV)/bin/actionlint

image: setup ## Build the API image from app/Dockerfile with podman (cached by its inputs); prints its reference last
	@$(PY) -m devstack.image

.PHONY: rds-ca-refresh
rds-ca-refresh: setup ## Take AWS's current RDS CA bundle into the image: fetch, check, update app/certs/ and the Dockerfile's pin
	$(PY) scripts/rds_ca_refresh.py

lint: setup ## ruff, ruff format --check, mypy strict, the import contract (lint-imports), hadolint on app/Dockerfile
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/hadolint app/Dockerfile

format: setup ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup ## Benchmark the API's hot paths on a temporary local stack (~6 min; not part of make test)
	$(PY) -m bench

clean: ## Stop a stale local stack and delete its state (.local/ and any server data under /var/tmp)
	@if [ -x $(PY) ]; then $(PY) -m devstack clean; else rm -rf .local; fi
