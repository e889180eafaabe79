# supervisord readiness: readiness_listener, readiness_probe and supervisor.d/.
# `make test` and `make demo` install what they need (supervisor from PyPI into .venv).

SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
PYTHON ?= python3
SUPERVISOR_VERSION := 4.3.0
# What the tests run in .venv: the pinned supervisord, and the manifest validators.
TEST_PACKAGES := supervisor==$(SUPERVISOR_VERSION) kubernetes-validate==1.30.0 jsonschema==4.26.0 PyYAML==6.0.3
VENV := .venv
SUPERVISORD := $(VENV)/bin/supervisord
VENV_STAMP := $(VENV)/.installed-$(SUPERVISOR_VERSION)-1
PREFIX ?= /usr
SYSCONFDIR ?= /etc
DESTDIR ?=
# Release binaries: Embedded Swift (no Swift runtime, no /proc needed at start-up),
# fully static against glibc, stripped, unused sections dropped. SwiftPM cannot
# build Embedded executables, so swiftc and clang are driven here, one module at a
# time, with the upcoming features Package.swift enables.
SWIFTC := $(dir $(SWIFT))swiftc
CLANG := $(dir $(SWIFT))clang
RELEASE_DIR := .build/embedded
EMBEDDED_LIB := $(dir $(SWIFT))../lib/swift/embedded/x86_64-unknown-linux-gnu
EMBEDDED_FLAGS := -enable-experimental-feature Embedded -target x86_64-unknown-linux-gnu -wmo -Osize \
	-package-name readiness -Xfrontend -function-sections -I Sources/CReadiness/include -I $(RELEASE_DIR) \
	-enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility \
	-enable-upcoming-feature InternalImportsByDefault
# libswiftUnicodeDataTables: String comparison and Character; -lm: ceil, used by hash tables.
EMBEDDED_LINK := -static -s -Wl,--gc-sections $(EMBEDDED_LIB)/libswiftUnicodeDataTables.a -lm
C_SOURCES := $(wildcard Sources/CReadiness/*.c Sources/CReadiness/include/*)

.PHONY: all build test release install demo bench fuzz clean

all: build

build:
	$(SWIFT) build

# The pinned supervisord the integration tests run against, in a local virtualenv.
$(VENV_STAMP):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(TEST_PACKAGES)
	@$(SUPERVISORD) --version | grep -qx '$(SUPERVISOR_VERSION)'
	touch $@

# Both build modes: the unit tests need the normal one (Swift Testing); the
# integration tests run the Embedded release binaries, one of them in an empty root.
# `make demo` is checked first, outside `swift test` (which holds the build lock).
test: $(VENV_STAMP) release
	examples/demo/test_make_demo.sh
	$(SWIFT) build --build-tests
	READINESS_BIN_DIR=$(CURDIR)/$(RELEASE_DIR) READINESS_RELEASE_DIR=$(CURDIR)/$(RELEASE_DIR) \
		$(SWIFT) test --disable-xctest --skip-build

release: $(RELEASE_DIR)/readiness_listener $(RELEASE_DIR)/readiness_probe
	@ls -l $^
	@file $^

$(RELEASE_DIR)/CReadiness.o: $(C_SOURCES)
	mkdir -p $(RELEASE_DIR)
	$(CLANG) -Os -ffunction-sections -fdata-sections -I Sources/CReadiness/include -c Sources/CReadiness/CReadiness.c -o $@

$(RELEASE_DIR)/ReadinessCore.o: $(wildcard Sources/ReadinessCore/*.swift)
	mkdir -p $(RELEASE_DIR)
	$(SWIFTC) $(EMBEDDED_FLAGS) -parse-as-library -module-name ReadinessCore \
		-emit-module -emit-module-path $(RELEASE_DIR)/ReadinessCore.swiftmodule -c $^ -o $@

$(RELEASE_DIR)/ReadinessPlatform.o: $(wildcard Sources/ReadinessPlatform/*.swift) $(RELEASE_DIR)/ReadinessCore.o $(C_SOURCES)
	$(SWIFTC) $(EMBEDDED_FLAGS) -parse-as-library -module-name ReadinessPlatform \
		-emit-module -emit-module-path $(RELEASE_DIR)/ReadinessPlatform.swiftmodule -c $(wildcard Sources/ReadinessPlatform/*.swift) -o $@

.SECONDEXPANSION:
$(RELEASE_DIR)/readiness_%.o: $$(wildcard Sources/readiness_%/*.swift) $(RELEASE_DIR)/ReadinessPlatform.o
	$(SWIFTC) $(EMBEDDED_FLAGS) -module-name readiness_$* -c $(filter %.swift,$^) -o $@
.SECONDARY: $(RELEASE_DIR)/readiness_listener.o $(RELEASE_DIR)/readiness_probe.o

$(RELEASE_DIR)/readiness_%: $(RELEASE_DIR)/readiness_%.o $(RELEASE_DIR)/ReadinessPlatform.o $(RELEASE_DIR)/ReadinessCore.o $(RELEASE_DIR)/CReadiness.o
	$(CLANG) $^ $(EMBEDDED_LINK) -o $@

install: release
	install -D -m 0755 $(RELEASE_DIR)/readiness_listener $(DESTDIR)$(PREFIX)/bin/readiness_listener
	install -D -m 0755 $(RELEASE_DIR)/readiness_probe $(DESTDIR)$(PREFIX)/bin/readiness_probe
	ln -sf readiness_probe $(DESTDIR)$(PREFIX)/bin/readiness_probe.sh
	install -D -m 0644 supervisor.d/readiness_listener.conf $(DESTDIR)$(SYSCONFDIR)/supervisor.d/readiness_listener.conf

clean:
	rm -rf .build $(VENV)

# A live view of what kubelet sees while start.sh initializes; DEMO_FAIL=1 for a failing start.sh.
demo: build $(VENV_STAMP)
	DEMO_FAIL=$(if $(FAIL),1,0) examples/demo/demo.sh

# Start-up and throughput against floors measured in the same run; prints a
# table and writes .build/bench/results.md. Needs hyperfine (installed from
# Debian when missing) and a C compiler for the protocol driver.
bench: release $(VENV_STAMP)
	@command -v hyperfine >/dev/null || (apt-get update -qq && apt-get install -y -qq hyperfine)
	bench/run.sh $(CURDIR)/$(RELEASE_DIR)

# libFuzzer (coverage-guided, with AddressSanitizer) on the three parsers that
# read outside bytes: the event framer, the status file parser and the XML-RPC
# answer parser, FUZZ_SECONDS each (default 60). `make test` runs a bounded,
# seeded fuzzer of its own on the same parsers.
FUZZ_SECONDS ?= 60
FUZZ_DIR := .build/fuzz
fuzz:
	mkdir -p $(FUZZ_DIR)
	$(dir $(SWIFT))swiftc -O -sanitize=fuzzer,address -parse-as-library -package-name readiness -module-name ReadinessFuzz \
		Sources/ReadinessCore/*.swift Tests/LibFuzzer/Fuzz.swift -o $(FUZZ_DIR)/readiness_fuzz
	for target in framer status xmlrpc; do \
		mkdir -p $(FUZZ_DIR)/corpus-$$target && \
		READINESS_FUZZ_TARGET=$$target $(FUZZ_DIR)/readiness_fuzz -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 \
			-print_final_stats=1 $(FUZZ_DIR)/corpus-$$target || exit 1; \
	done
