# opsync build targets. `make run` starts a node on the embedded default;
# `make test` runs every test (what CI runs).

GO      ?= go
BIN     := $(CURDIR)/.bin
PROTOC_GEN_GO_VERSION := v1.36.12
# protoc itself comes from Debian's protobuf-compiler package (3.21.12).
PROTOC_VERSION := 3.21.12

.PHONY: build run test test-js test-short proto proto-js bench chaos lint fuzz clean

build:
	$(GO) build -o $(BIN)/opsync ./cmd/opsync

run:
	$(GO) run ./cmd/opsync serve

FUZZTIME ?= 10s

# Packages are tested one at a time (-p 1): the e2e, raft and bench tests
# start real nodes on free ports and time elections; run side by side on 2
# cores they took each other's ports and CPU and failed at random.
test:
	$(GO) test -count=1 -p 1 -timeout 30m ./...
	$(MAKE) --no-print-directory test-js
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

# The JS SDK's own tests (type check, frames, sync points) under Node; its
# browser test is e2e's TestJSSDKBrowser.
test-js:
	@command -v npm >/dev/null || { echo "test-js: npm not found (Node 20+ is needed)" >&2; exit 1; }
	cd sdk/js && { test -d node_modules || npm ci --no-audit --no-fund --prefer-offline; } && npm test

test-short:
	$(GO) test -count=1 -short ./...

proto:
	@command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler (=$(PROTOC_VERSION))" >&2; exit 1; }
	@protoc --version | grep -q "$(PROTOC_VERSION)" || { echo "protoc $(PROTOC_VERSION) expected, found: $$(protoc --version)" >&2; exit 1; }
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	protoc -I proto --plugin=protoc-gen-go=$(BIN)/protoc-gen-go \
		--go_out=. --go_opt=module=github.com/opsync/opsync \
		proto/opsync/v1/*.proto
	$(MAKE) --no-print-directory proto-js

# The JS SDK's protobuf code (sdk/js/src/gen) from the client protocol's
# files, with the protoc-gen-es pinned in sdk/js/package.json.
proto-js:
	@test -x sdk/js/node_modules/.bin/protoc-gen-es || { echo "sdk/js: run npm ci first" >&2; exit 1; }
	rm -rf sdk/js/src/gen
	mkdir -p sdk/js/src/gen
	protoc -I proto --plugin=protoc-gen-es=sdk/js/node_modules/.bin/protoc-gen-es \
		--es_out=sdk/js/src/gen --es_opt=target=ts,import_extension=js \
		proto/opsync/v1/wire.proto proto/opsync/v1/block.proto proto/opsync/v1/card.proto proto/opsync/v1/document.proto \
		proto/opsync/v1/docwire.proto proto/opsync/v1/docdata.proto

# A short run of each fuzz target facing the network (part of `make test`);
# `make fuzz FUZZTIME=10m` for a longer one.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParsePushBody$$' -fuzztime $(FUZZTIME) ./internal/edge/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeClientFrame$$' -fuzztime $(FUZZTIME) ./internal/edge/

# The Go benchmarks (go test -bench ./internal/persistence/ ./internal/node/) and the standard
# `opsync bench` set, each scenario on a node of its own; writes
# docs/benchmarks.json and the tables of docs/benchmarks.md (takes ~10 min).
# BENCH_ONLY=push,catchup runs those scenarios only, without the Go
# benchmarks, into .bin/benchmarks-partial.{json,md}.
BENCH_ONLY ?=
bench: build
	$(BIN)/opsync bench report --only '$(BENCH_ONLY)' \
		$(if $(BENCH_ONLY),--go-bench=false --out $(BIN)/benchmarks-partial,--out docs/benchmarks)

# The crash harness: repeated kill -9 of a node under push and tail load,
# then lost / unexpected / duplicate / reordered counts (exit 1 unless 0);
# then the node-set soak: 3 nodes for CHAOS_SET_DURATION, a kill of the
# leader or a follower every 30 s, the leader's partition and a full disk
# (both need root), every node's memory at the end within 20% of its
# memory after the first minute (docs/benchmarks.md, "Chaos soak").
CHAOS_ROUNDS ?= 10
CHAOS_SET_DURATION ?= 10m
CHAOS_NODE_LOGS ?= $(BIN)/chaos-set-logs
chaos: build
	$(BIN)/opsync bench chaos --rounds $(CHAOS_ROUNDS) --writers 8 --streams 4 --round-acks 3000
	mkdir -p $(CHAOS_NODE_LOGS)
	$(BIN)/opsync bench chaos --nodes 3 --duration $(CHAOS_SET_DURATION) --kill-every 30s --partition --disk-full \
		--writers 8 --streams 4 --node-logs $(CHAOS_NODE_LOGS) --progress 30s

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf $(BIN)
