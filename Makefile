# Rollwave — build, test and run every module of the workspace.
#   make run     start everything embedded (NATS + all services) on ./data
#   make test    vet, lint, race tests, short fuzzing: what CI runs
#   make bench   Go benchmarks and the load tool
#   make demo    zero-downtime proof: three rollouts behind a real HAProxy under load

SHELL      := /bin/bash
MODULES    := contracts pkg services tools
BIN        := bin/rollwave
GO         ?= go
FUZZTIME   ?= 5000x
DATA       ?= ./data
BENCH_N    ?= 5000
# Stamp the commit into the binary (rollwave version) when built in a checkout.
BUILDVCS   := $(if $(wildcard .git),true,auto)

.PHONY: all build binary images compose-test test test-deps rules unit lint vet fmt-check imports fuzz run bench bench-go bench-load clean tidy demo

all: build

# binary builds only what `make run` needs; build also checks that every
# module builds on its own.
binary:
	@mkdir -p bin
	$(GO) build -buildvcs=$(BUILDVCS) -o $(BIN) ./tools/rollwave

build: binary
	@for m in $(MODULES); do (cd $$m && GOWORK=off $(GO) build ./...) || exit 1; done

test: test-deps lint unit fuzz rules compose-test

# Real tools the tests drive, installed from Debian's packages when missing.
# ROLLWAVE_REQUIRE_TOOLS makes a test fail rather than skip without them.
TEST_PACKAGES := prometheus openssh-server haproxy
export ROLLWAVE_REQUIRE_TOOLS := 1

test-deps:
	@bash tools/lint/test-deps.sh $(TEST_PACKAGES)

# The alert rules load, and each alert fires on what should trigger it.
rules:
	promtool check rules deployments/observability/alerts.yml
	cd deployments/observability && promtool test rules alerts_test.yml

unit:
	@for m in $(MODULES); do echo "== go test -race $$m"; (cd $$m && $(GO) test -race -count=1 -timeout 15m ./...) || exit 1; done

lint: vet fmt-check imports

vet:
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Services never import each other; pkg and contracts never import services.
imports:
	@bash tools/lint/imports.sh

# Every fuzz target runs briefly (5000 inputs: a count, not a duration, so a
# slow start on a busy machine cannot time the run out); `make fuzz
# FUZZTIME=5m` digs deeper.
fuzz:
	@bash tools/lint/fuzz.sh $(FUZZTIME)

run: binary
	$(BIN) dev --data $(DATA)

# Zero-downtime proof (tools/demo/demo.sh): rolling, blue-green and a
# broken canary behind a real HAProxy under load; one line per rollout.
demo:
	@bash tools/demo/demo.sh

bench: bench-go bench-load

bench-go:
	@for m in $(MODULES); do (cd $$m && $(GO) test -run '^$$' -bench . -benchmem ./...) || exit 1; done

bench-load: binary
	$(BIN) bench --deployments $(BENCH_N) --hosts 1
	$(BIN) bench --deployments $(BENCH_N) --hosts 1 --no-sync
	$(BIN) bench --deployments $$(( $(BENCH_N) / 5 )) --hosts 10
	$(BIN) bench --deployments $$(( $(BENCH_N) / 5 )) --hosts 10 --no-sync

# Static binaries for the FROM-scratch images of docker-compose.yml
# (deployments/Dockerfile): rollwave with cgo and SQLite linked statically,
# and nats-server built from its Go module at the version that the workspace
# (and so the rollwave binary) embeds.
IMAGE_DIR    := build/compose
NATS_VERSION  = $(shell $(GO) list -m -f '{{.Version}}' github.com/nats-io/nats-server/v2)

images:
	@mkdir -p $(IMAGE_DIR)/empty $(IMAGE_DIR)/tmp && chmod 1777 $(IMAGE_DIR)/tmp
	CGO_ENABLED=1 $(GO) build -buildvcs=$(BUILDVCS) -trimpath \
		-tags osusergo,netgo,sqlite_omit_load_extension \
		-ldflags '-s -w -linkmode external -extldflags "-static"' \
		-o $(IMAGE_DIR)/rollwave ./tools/rollwave
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(IMAGE_DIR)/nats-server github.com/nats-io/nats-server/v2
	@$(IMAGE_DIR)/nats-server --version | grep -qF $(NATS_VERSION) || { echo "nats-server is not $(NATS_VERSION)"; exit 1; }
	@if ldd $(IMAGE_DIR)/rollwave >/dev/null 2>&1; then echo "$(IMAGE_DIR)/rollwave is not static"; exit 1; fi
	@echo "static rollwave and nats-server $(NATS_VERSION) in $(IMAGE_DIR)/"

# The compose stack end to end: build the images, deploy, kill the scheduler
# mid-rollout, tear down (installs docker.io and docker-compose if missing).
compose-test: images
	@bash tools/compose/test.sh

tidy:
	@for m in $(MODULES); do (cd $$m && GOWORK=off $(GO) mod tidy) || exit 1; done

clean:
	rm -rf bin build
