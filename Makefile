# keyless developer tasks. `make test` is the whole test suite (what CI runs).
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
# The PostgreSQL conformance run needs a server; CI requires one, a laptop may lack it.
KEYLESS_TEST_POSTGRES_DSN ?= $(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable')
export KEYLESS_TEST_POSTGRES_DSN

.PHONY: build install man test check fuzz bench deps

build:
	$(GO) build -o bin/keyless ./cmd/keyless

install:
	$(GO) install ./cmd/keyless

# Man pages for keyless and every command, into ./man (man -l man/keyless.1).
man:
	$(GO) run ./internal/tools/mangen man

deps:
	$(GO) mod download
	@if [ -f e2e/js/package.json ]; then cd e2e/js && npm ci --no-audit --no-fund --loglevel=error; fi
	@if [ -f provision/render/cdk/testdata/npm/package.json ]; then cd provision/render/cdk/testdata/npm && npm ci --no-audit --no-fund --loglevel=error; fi

test: deps
	$(GO) test -race -count=1 -timeout 15m ./...

check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...

# Fuzz every target for FUZZTIME each (default 30s); see README for the long runs.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) || exit 1; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
