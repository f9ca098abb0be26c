# Plinth's two everyday commands: `make start` and `make test`.
# Both install what they need first (scripts/setup.sh) and are idempotent.

SHELL := /bin/bash
export PLINTH_CACHE ?= $(HOME)/.cache/plinth
export PATH := $(PLINTH_CACHE)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export PULUMI_HOME ?= $(PLINTH_CACHE)/pulumi-home
export PULUMI_SKIP_UPDATE_CHECK := true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION := true
export PULUMI_DISABLE_REGISTRY_RESOLVE := true

.PHONY: setup start start-cluster test check generate lint typecheck proto clean-cache

setup:
	@bash scripts/setup.sh

## start: a local Kafka broker (127.0.0.1:9092, KAFKA_PORT to change) and the Plinth server
start: setup
	@cd packages/core && node --import tsx ../../scripts/start.ts

## start-cluster: the same, with Plinth as 3 replicas (ports 8080-8082) on one PostgreSQL store
start-cluster: setup
	@cd packages/core && node --import tsx ../../scripts/start-cluster.ts

## test: the whole suite: proto lint and breaking check, types, lint, then every test
test: setup
	@$(MAKE) --no-print-directory check
	@# Two files at a time: most wait on real brokers, databases and Pulumi children rather than compute, and
	@# vitest's default (cores - 1) ran them one at a time on CI's 2 cores. A flag, because a project's config
	@# does not inherit the root config's maxWorkers.
	@pnpm exec vitest run --maxWorkers=2

check: proto typecheck lint

proto:
	@buf lint
	@bash scripts/buf-breaking.sh
	@tmp=$$(mktemp -d) && buf generate -o "$$tmp" && diff -r "$$tmp/packages/sdk/src/gen" packages/sdk/src/gen >/dev/null; \
	  status=$$?; rm -rf "$$tmp"; [ $$status -eq 0 ] || \
	  { echo "packages/sdk/src/gen is stale: run 'make generate'"; exit 1; }

generate:
	@buf generate

typecheck:
	@tsc -p tsconfig.json
	@tsc -p packages/console/src/tsconfig.json

lint:
	@eslint --max-warnings=0 .
	@prettier --check --log-level=warn .

clean-cache:
	rm -rf "$(PLINTH_CACHE)"
