# Vehicle Evidence Consortium: every entry point a developer or CI uses.
# `make up` runs the system; `make test` installs what tests need and runs every suite (forge and pytest).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
NPM_STAMP := node_modules/.installed
SLITHER_VENV := .venv-slither
FORGE := node_modules/.bin/forge

.PHONY: help install install-dev install-browser install-ocr install-postgres geth doctor up down network test test-forge test-python chaos bench lint fmt artifacts clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) is not installed (the project needs Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --editable .
	@touch $@

$(DEV_STAMP): pyproject.toml $(RUNTIME_STAMP)
	$(BIN)/pip install --quiet --editable . --group dev
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	@command -v node >/dev/null || { echo "error: Node.js is not installed; the project needs Node.js 20+ and npm (Debian: apt-get install -y nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(RUNTIME_STAMP) $(NPM_STAMP) ## install what running the system needs (.venv, node_modules)

install-dev: $(DEV_STAMP) $(NPM_STAMP) ## install what tests and lint need too

# The browser tests drive Debian's chromium (through Playwright, which downloads no browser of its own).
install-browser:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian's chromium for the browser tests"; \
			apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; \
		else echo "error: the browser tests need chromium: sudo apt-get install chromium"; exit 1; fi; }

# Document intake reads scans with Debian's Tesseract (English and simplified Chinese); tests render their documents
# with a CJK font from Debian's packages.
OCR_PACKAGES := tesseract-ocr tesseract-ocr-chi-sim fonts-wqy-zenhei
install-ocr:
	@{ tesseract --list-langs 2>/dev/null | grep -qx chi_sim && [ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]; } || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian's $(OCR_PACKAGES) for document intake"; \
			apt-get install -y -qq $(OCR_PACKAGES) >/dev/null || { apt-get update -qq && apt-get install -y -qq $(OCR_PACKAGES) >/dev/null; }; \
		else echo "error: document intake needs Tesseract and a CJK font: sudo apt-get install $(OCR_PACKAGES)"; exit 1; fi; }

# The tests start a private PostgreSQL cluster of their own (initdb + pg_ctl from Debian's postgresql package; no server
# of the machine's is used or started: policy-rc.d keeps the package's own cluster from starting while it installs).
install-postgres:
	@{ ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; } || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian's postgresql for the database tests (they start a private cluster of their own)"; \
			guard=; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
				chmod +x /usr/sbin/policy-rc.d; guard=1; }; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
				|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }; \
			status=$$?; [ -z "$$guard" ] || rm -f /usr/sbin/policy-rc.d; exit $$status; \
		else echo "error: the database tests need PostgreSQL's server programs: sudo apt-get install postgresql" \
			"(or set CONSORTIUM_TEST_DATABASE_URL to a server of yours)"; exit 1; fi; }

# The multi-node network runs geth (go-ethereum) 1.13, the last line with Clique proof-of-authority, built once from the
# Go module proxy into .tools/bin. The version is pinned here and in consortium/network/tool.py (a test checks both).
# geth 1.13 links with Go 1.23+ only with -checklinkname=0 (its memsize dependency; never enable geth's /memsize page);
# older Go does not know that flag, so it is given to Go 1.23+ only.
GETH_VERSION := 1.13.15
GETH_PACKAGE := github.com/ethereum/go-ethereum/cmd/geth
TOOLS_BIN := .tools/bin
GETH := $(TOOLS_BIN)/geth
GETH_INSTALL := GOBIN=$(CURDIR)/$(TOOLS_BIN) go install -ldflags=-checklinkname=0 $(GETH_PACKAGE)@v$(GETH_VERSION)

geth: ## build the pinned geth into .tools/bin, once (the multi-node network and its tests; needs Go)
	@$(GETH) version 2>/dev/null | grep -q '^Version: $(GETH_VERSION)-' || { \
		command -v go >/dev/null || { echo "error: building geth $(GETH_VERSION) needs Go 1.21+ (go.dev/dl, or" \
			"apt-get install -y golang); then run \`make geth\`, which runs: $(GETH_INSTALL)"; exit 1; }; \
		minor=$$(go env GOVERSION | sed -nE 's/^go1\.([0-9]+).*/\1/p'); \
		flags=; [ "$${minor:-0}" -lt 23 ] || flags=-ldflags=-checklinkname=0; \
		echo "building geth $(GETH_VERSION) into $(TOOLS_BIN) (the first build downloads its modules: minutes)"; \
		GOBIN=$(CURDIR)/$(TOOLS_BIN) go install $$flags $(GETH_PACKAGE)@v$(GETH_VERSION) \
			&& $(GETH) version | grep -q '^Version: $(GETH_VERSION)-'; }

doctor: ## say which tools are installed, their versions, and how to install what is missing
	@$(PYTHON) -m consortium.doctor

up: install ## run the system on embedded defaults (local chain; Ctrl-C stops it)
	@$(MAKE) --no-print-directory install-ocr || echo "warning: without Tesseract the portal refuses scanned papers (503); the rest runs"
	$(BIN)/consortium up

down: install ## stop what `make up` started
	$(BIN)/consortium chain down

network: install geth ## run a 4-node geth Clique network on loopback (state in .state/network; Ctrl-C stops it)
	$(BIN)/consortium network up

test: install-dev install-browser install-ocr install-postgres geth ## install what tests need, then run every test (forge and pytest)
	@$(BIN)/python -m consortium.doctor
	$(MAKE) --no-print-directory test-forge test-python

test-forge:
	cd contracts && ../$(FORGE) test
	@git diff --quiet -- contracts/snapshots || { git --no-pager diff --stat -- contracts/snapshots; \
		echo "error: gas snapshots changed (contracts/snapshots): review the figures and commit them"; exit 1; }

test-python:
	$(BIN)/pytest

# The fault suite at full strength (make test runs it short): docs/chaos.md. Needs root for its small-disk fault.
chaos: install-dev ## the fault suite, full form: node, database, oracle, reorg, full disk, clock skew
	CHAOS_SCALE=full $(BIN)/pytest tests/chaos -m chaos -v

# Every `consortium bench ...`, one after the other, into one report (docs/benchmarks.md); e.g.
# `make bench BENCH_ARGS="--sizes 1000,10000 --skip oracle"` for a quicker run.
BENCH_ARGS ?=
bench: install ## run every benchmark, one report in .state/bench/report/ (BENCH_ARGS="--sizes 1000,10000")
	$(BIN)/consortium bench all $(BENCH_ARGS)

lint: install-dev $(SLITHER_VENV)/bin/slither ## ruff, mypy, forge fmt --check, slither
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd contracts && ../$(FORGE) fmt --check
	cd contracts && ../$(FORGE) clean  # slither reads every build-info file: stale ones confuse it
	cd contracts && PATH="$(CURDIR)/node_modules/.bin:$$PATH" ../$(SLITHER_VENV)/bin/slither . \
		--compile-force-framework foundry --config-file ../slither.config.json  # triage: contracts/SLITHER.md

# slither-analyzer pins web3 < 8, so it lives in a virtual environment of its own.
$(SLITHER_VENV)/bin/slither:
	$(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SLITHER_VENV)/bin/pip install --quiet "slither-analyzer==0.11.6"

fmt: install-dev ## format Python and Solidity
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	cd contracts && ../$(FORGE) fmt

artifacts: install-dev ## recompile contracts/src into node_adapter/artifacts (commit the result)
	$(BIN)/consortium build

clean: ## remove build outputs (keeps .venv, node_modules and the chain state)
	rm -rf contracts/out contracts/cache .pytest_cache .mypy_cache .ruff_cache
