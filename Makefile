# opsync build targets. `make run` starts a node on the embedded default;
# `make test` runs every test (what CI runs).

GO      ?= go
BIN     := $(CURDIR)/.bin
PROTOC_GEN_GO_VERSION := v1.36.12
# protoc itself comes from Debian's protobuf-compiler package (3.21.12).
PROTOC_VERSION := 3.21.12

.PHONY: build run test test-short proto bench lint fuzz clean

build:
	$(GO) build -o $(BIN)/opsync ./cmd/opsync

run:
	$(GO) run ./cmd/opsync serve

FUZZTIME ?= 10s

test:
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

test-short:
	$(GO) test -count=1 -short ./...

proto:
	@command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler (=$(PROTOC_VERSION))" >&2; exit 1; }
	@protoc --version | grep -q "$(PROTOC_VERSION)" || { echo "protoc $(PROTOC_VERSION) expected, found: $$(protoc --version)" >&2; exit 1; }
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	protoc -I proto --plugin=protoc-gen-go=$(BIN)/protoc-gen-go \
		--go_out=. --go_opt=module=github.com/opsync/opsync \
		proto/opsync/v1/*.proto

# A short run of each fuzz target facing the network (part of `make test`);
# `make fuzz FUZZTIME=10m` for a longer one.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParsePushBody$$' -fuzztime $(FUZZTIME) ./edge/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeClientFrame$$' -fuzztime $(FUZZTIME) ./edge/

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./persistence/ ./node/

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf $(BIN)
