# The two commands a newcomer needs:
#   make run    - install missing system packages, build release, run the whole stack (exchange up --demo --upstream replay)
#   make test   - install what the tests need, build, run swift test and the stack smoke test
SHELL := /bin/bash
APT_PACKAGES := redis-server librdkafka-dev libhiredis-dev pkg-config protobuf-compiler curl
PYTHON ?= python3
VENV := .ci-venv
SWIFT_TEST_FLAGS ?=

.PHONY: run test build build-debug deps py-deps swift-test smoke bench protos clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

py-deps:
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check -r Tests/Clients/requirements.txt

build: deps
	swift build -c release

build-debug: deps
	swift build --build-tests

run: build
	.build/release/exchange up --demo --upstream replay

swift-test: build-debug
	swift test --skip-build $(SWIFT_TEST_FLAGS)

smoke: build-debug py-deps
	scripts/smoke-stack.sh .build/debug $(VENV)/bin/python

test: deps py-deps build-debug
	swift test --skip-build $(SWIFT_TEST_FLAGS)
	scripts/smoke-stack.sh .build/debug $(VENV)/bin/python

bench: build
	.build/release/exchange bench codec
	.build/release/exchange bench matching
	.build/release/exchange bench ledger
	.build/release/exchange bench ledger-service --backend redis
	.build/release/exchange bench ledger-service --backend kafka-mock --trades 20000
	.build/release/exchange bench eventlog --backend redis
	.build/release/exchange bench eventlog --backend kafka-mock
	.build/release/exchange bench matching-service --backend redis
	.build/release/exchange bench matching-service --backend kafka-mock --commands 100000
	.build/release/exchange bench router
	.build/release/exchange bench ingest --backend redis
	.build/release/exchange bench api --rate 1000 --duration 10 --backend redis
	.build/release/exchange bench api --rate 1000 --duration 10 --backend kafka-mock
	.build/release/exchange bench ws --clients 1000 --rate 1000 --seconds 10

protos:
	scripts/generate-protos.sh

clean:
	rm -rf .build .build-protoc $(VENV)
