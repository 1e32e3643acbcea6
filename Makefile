# streamflix: make help lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO          ?= go
BIN         := bin/streamflix
VERSION     ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck
DATA        := .data
SERVICES    := scripts/services.sh

# Runs a command against the private services under .data/ unless
# DATABASE_URL / REDIS_URL are set.
WITH_SERVICES := scripts/with-services.sh

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

.PHONY: build
build: web ## Build bin/streamflix (with the web app embedded)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/streamflix

# The web app: npm ci when package-lock.json changes, npm run build when a
# source changes. web/dist is embedded by go build.
WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/package.json web/tsconfig.json web/vite.config.ts

.PHONY: web
web: web/dist/index.html ## Build the web app into web/dist (npm ci && npm run build)

web/node_modules/.package-lock.json: web/package-lock.json
	@scripts/deps.sh web
	cd web && npm ci --no-audit --no-fund

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run build

.PHONY: run
run: build ## Set everything up, migrate, load the demo catalog into an empty one, queue its demo videos and serve on :8080
	@scripts/deps.sh run
	@mkdir -p $(DATA); [ -s $(DATA)/admin-token ] || { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > $(DATA)/admin-token; chmod 600 $(DATA)/admin-token; }
	@$(WITH_SERVICES) $(BIN) migrate up
	@$(WITH_SERVICES) $(BIN) seed --demo --if-empty
	@$(WITH_SERVICES) $(BIN) seed --videos
	@echo "streamflix: http://localhost:8080 (operator token: $(DATA)/admin-token; make stop stops Postgres and Redis)"
	@ADMIN_TOKEN="$${ADMIN_TOKEN:-$$(cat $(DATA)/admin-token)}" DRAIN_DELAY="$${DRAIN_DELAY:-0s}" $(WITH_SERVICES) $(BIN) serve

.PHONY: stop
stop: ## Stop the private Postgres and Redis
	@$(SERVICES) stop $(DATA)

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@[ -x $(STATICCHECK) ] || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	$(STATICCHECK) ./...

.PHONY: test
test: ## Lint, then run every test against real Postgres and Redis (-race), then the web app's unit and Chromium tests
	@scripts/deps.sh test
	@FAST_UNSAFE=1 $(SERVICES) start $(DATA)
	@$(MAKE) --no-print-directory lint web
	@bash deploy/check.sh
	@$(WITH_SERVICES) $(GO) test -race -count=1 -timeout 40m ./...
	cd web && npx vitest run
	@$(WITH_SERVICES) bash -c 'cd web && npm run e2e'

.PHONY: bench
bench: ## Measure throughput, latency and memory against same-run baselines
	@scripts/deps.sh bench
	@$(WITH_SERVICES) bash bench/run.sh

.PHONY: api-types
api-types: ## Regenerate web/src/api/schema.d.ts from the OpenAPI document the code serves (make test fails while it is stale)
	@$(WITH_SERVICES) env UPDATE_API_TYPES=1 $(GO) test -count=1 -run 'TestOpenAPIWebTypes$$' ./cmd/streamflix
