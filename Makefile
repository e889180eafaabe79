# supervisord readiness: readiness_listener, readiness_probe and supervisor.d/.
# `make test` and `make demo` install what they need (supervisor from PyPI into .venv).

SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
PYTHON ?= python3
SUPERVISOR_VERSION := 4.3.0
# What the tests run in .venv: the pinned supervisord, the manifest validators,
# and Prometheus's Python client, whose parser reads /metrics.
TEST_PACKAGES := supervisor==$(SUPERVISOR_VERSION) kubernetes-validate==1.30.0 jsonschema==4.26.0 PyYAML==6.0.3 prometheus-client==0.26.0
VENV := .venv
SUPERVISORD := $(VENV)/bin/supervisord
VENV_STAMP := $(VENV)/.installed-$(SUPERVISOR_VERSION)-2
PREFIX ?= /usr
DESTDIR ?=
# Release binaries: Embedded Swift (no Swift runtime, no /proc needed at start-up),
# fully static, stripped, unused sections dropped. SwiftPM cannot build
# Embedded executables, so swiftc and clang are driven here, one module at a
# time, with the upcoming features Package.swift enables.
SWIFTC := $(dir $(SWIFT))swiftc
CLANG := $(dir $(SWIFT))clang
# ARCH: what the release binaries run on, x86_64 (the default) or arm64; Docker's
# TARGETARCH names (amd64, arm64) and aarch64 are accepted. x86_64 is this
# machine's own target. arm64 is cross-built: the toolchain has no Embedded
# standard library for aarch64 Linux, so Swift compiles against the one for
# aarch64-none-none-elf (the same aarch64 ELF objects) while its Clang importer
# reads the arm64 C library's headers; the toolchain's clang and lld link.
ARCH ?= x86_64
RELEASE_ARCH := $(or $(filter x86_64 arm64,$(subst amd64,x86_64,$(subst aarch64,arm64,$(ARCH)))),$(error ARCH=$(ARCH): say x86_64 (amd64) or arm64 (aarch64)))
# LIBC: the C library linked in statically, musl (the default) or glibc.
# musl: Debian's musl-dev (musl-dev:arm64 through multiarch for arm64; both
# installed when missing). Its libc.a adds about 30 KB where static glibc
# added about 690 KB (glibc's start-up pulls in locales, gconv, printf and
# the dynamic loader), and a static musl program starts in half the time.
# The C shim and Swift's Clang importer read musl's headers only (-nostdinc,
# then musl's and clang's own builtin headers), and the link takes musl's
# start files and libc.a and nothing of the system's (-nostdlib).
# glibc: the Embedded build as before musl: Debian's static glibc (for arm64,
# libc6-dev-arm64-cross and libgcc-12-dev-arm64-cross, installed when
# missing). Each ARCH and LIBC goes to its own directory.
LIBC ?= musl
ifeq ($(filter musl glibc,$(LIBC)),)
$(error LIBC=$(LIBC): say musl or glibc)
endif
LIBC_SUFFIX := $(if $(filter glibc,$(LIBC)),-glibc)
ifeq ($(RELEASE_ARCH),arm64)
RELEASE_DIR := .build/embedded-arm64$(LIBC_SUFFIX)
SWIFT_TARGET := -target aarch64-none-none-elf
MUSL_TRIPLE := aarch64-linux-musl
else
RELEASE_DIR := .build/embedded$(LIBC_SUFFIX)
SWIFT_TARGET := -target x86_64-unknown-linux-gnu
MUSL_TRIPLE := x86_64-linux-musl
endif
LIBC_PACKAGES := libc-packages-$(LIBC)-$(RELEASE_ARCH)
DROP_UNWIND_TABLES :=
ifeq ($(LIBC),musl)
MUSL_INCLUDE := /usr/include/$(MUSL_TRIPLE)
MUSL_LIB := /usr/lib/$(MUSL_TRIPLE)
# clang's own headers (stddef.h, stdarg.h, ...) after musl's, as musl-gcc orders them.
C_TARGET := --target=$(MUSL_TRIPLE) -nostdinc -isystem $(MUSL_INCLUDE) -isystem $(shell $(CLANG) -print-resource-dir)/include
# Swift warns "libc not found for <target>": it looks for glibc's headers to
# give them a module map, which is right not to find; CReadiness's module
# map is the only way to the C library here.
SWIFT_TARGET += -clang-target $(subst -linux-,-unknown-linux-,$(MUSL_TRIPLE)) $(addprefix -Xcc ,$(C_TARGET))
LINK_TARGET := --target=$(MUSL_TRIPLE) -fuse-ld=lld -nostdlib
LINK_START := $(MUSL_LIB)/crt1.o $(MUSL_LIB)/crti.o
# musl's libm is part of its libc.a.
LIBC_LINK := $(MUSL_LIB)/libc.a $(MUSL_LIB)/crtn.o
# Link-time optimization: swiftc leaves LLVM bitcode and lld optimizes the
# three modules as one program, dropping what no module needs and the
# copies each module made of the same generic code: 28 KB off the listener
# and 18 KB off the probe. (With glibc, GNU ld links, which cannot read bitcode.)
LTO_FLAGS := -lto=llvm-full
else ifeq ($(RELEASE_ARCH),arm64)
# GNU ld refuses the objects ("copy relocation against non-copyable protected
# symbol"), so the toolchain's lld links; the cross compiler itself is not needed.
ARM64_SYSROOT := /usr/aarch64-linux-gnu
SWIFT_TARGET += -clang-target aarch64-unknown-linux-gnu -Xcc --sysroot=$(ARM64_SYSROOT)
C_TARGET := --target=aarch64-linux-gnu --sysroot=$(ARM64_SYSROOT) --gcc-toolchain=/usr
LINK_TARGET := $(C_TARGET) -fuse-ld=lld
LIBC_LINK := -lm
else
C_TARGET :=
LINK_TARGET :=
LIBC_LINK := -lm
# Static glibc brings about 58 KB of unwind tables (.eh_frame) that nothing
# here reads: Embedded Swift is compiled nounwind and traps, and there is no
# C++, no backtrace() and no thread cancellation. Dropped after the link
# (binutils' objcopy; llvm-objcopy leaves the space in place).
DROP_UNWIND_TABLES := objcopy --remove-section=.eh_frame --remove-section=.eh_frame_hdr
endif
# Less inlining than -Osize's default: with the services (issue 17) the
# glibc listener was 1,144,256 bytes; this brought it to 1,046,112. (LLVM's
# machine outliner saved 4 KB more but made the probe crash: not used.)
SIZE_FLAGS := -Xfrontend -sil-inline-caller-benefit-reduction-factor -Xfrontend 64 \
	-Xfrontend -sil-inline-threshold -Xfrontend 10
EMBEDDED_FLAGS := -enable-experimental-feature Embedded $(SWIFT_TARGET) -wmo -Osize $(SIZE_FLAGS) $(LTO_FLAGS) \
	-package-name readiness -Xfrontend -function-sections -I Sources/CReadiness/include -I $(RELEASE_DIR) \
	-enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility \
	-enable-upcoming-feature InternalImportsByDefault
# The executables' top-level code becomes readiness_swift_main, called by the C
# main of Sources/CReadiness/EmbeddedMain.c, which hands it argc and argv
# (Embedded Swift has no CommandLine).
ENTRY_FLAGS := -Xfrontend -entry-point-function-name -Xfrontend readiness_swift_main
# Sources/CReadiness/EmbeddedUnicode.c answers String comparison's and
# Character's Unicode questions in place of libswiftUnicodeDataTables (37 KB);
# the libc's libm: ceil, used by hash tables.
# --icf=all folds identical functions: Embedded Swift emits many identical
# specializations (one per array element type, say). It saves 6 KB more than
# --icf=safe, which keeps those whose address is taken. Folding is wrong only
# for code that compares function addresses: the Swift code never does, and
# musl compares a pthread key's destructor with its own no-op, which a folded
# twin could only be if it did nothing either.
EMBEDDED_LINK := -static -s -Wl,--gc-sections -Wl,--icf=all $(LIBC_LINK)
C_SOURCES := $(wildcard Sources/CReadiness/*.c Sources/CReadiness/include/*)
# Each library's sources, in the subfolders that group them by concern (the
# Embedded build compiles a module's files in one swiftc call: it must see every one).
CORE_SOURCES := $(sort $(shell find Sources/ReadinessCore -name '*.swift'))
PLATFORM_SOURCES := $(sort $(shell find Sources/ReadinessPlatform -name '*.swift'))
# Where `make install` puts readiness_listener.conf: detected from DESTDIR's
# supervisord.conf by supervisor.d/install-config.sh unless these say otherwise.
SUPERVISORD_CONF ?=
SUPERVISOR_INCLUDE_DIR ?=
SUPERVISOR_INCLUDE_EXT ?=

.PHONY: all build test test-swift promtool matrix e2e e2e-install release install demo bench fuzz model clean libc-packages-musl-x86_64 libc-packages-musl-arm64 libc-packages-glibc-x86_64 libc-packages-glibc-arm64 arm64-emulator test-arm64 test-arm64-full flake-hunt

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
# Then the supervisord-facing suites once per version of the matrix, then the
# container end-to-end tests, then the arm64 binaries under qemu-user. Each
# part prints how long it took.
test: test-swift matrix e2e test-arm64

test-swift: $(VENV_STAMP) release promtool
	examples/demo/test_make_demo.sh
	$(SWIFT) build --build-tests
	READINESS_BIN_DIR=$(CURDIR)/$(RELEASE_DIR) READINESS_RELEASE_DIR=$(CURDIR)/$(RELEASE_DIR) \
		$(SWIFT) test --disable-xctest --skip-build --skip '$(E2E_SUITES)'

# Prometheus's own linter of the exposition format, for MetricsTests: Debian's prometheus package.
promtool:
	@command -v promtool >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus)

# supervisor as Ubuntu 20.04 (4.1.0), 22.04 (4.2.1), RHEL/EPEL 8 and 9 and
# Debian 11 (4.2.2), Debian 12 and Ubuntu 24.04 (4.2.5) ship it; 4.3.0 is the
# .venv above. 4.0.x does not start on Python 3.11.
SUPERVISOR_MATRIX := 4.1.0 4.2.1 4.2.2 4.2.5
MATRIX_SUITES := ListenerSupervisordTests|ReconcileTests|ListenerFaultTests|EssentialProgramTests|NoFalseReadyTests|NotifyServiceTests|StartOrderIntegrationTests
matrix_venv = .build/venvs/supervisor-$(1)
.build/venvs/supervisor-%/.installed:
	$(PYTHON) -m venv $(call matrix_venv,$*)
	$(call matrix_venv,$*)/bin/pip install --quiet --disable-pip-version-check supervisor==$*
	@$(call matrix_venv,$*)/bin/supervisord --version | grep -qx '$*'
	touch $@

# MATRIX_JOBS versions at a time: a version's run spends most of its 5
# minutes waiting on supervisord (a quarter of one core here), and the
# tests' TCP ports are apart between processes (Tests/IntegrationTests/Support/Ports.swift).
# SwiftPM locks .build for the whole of a `swift test`, so the built test
# bundle runs directly. Each version's output is printed whole once it ends.
MATRIX_JOBS ?= 2
matrix: release $(foreach version,$(SUPERVISOR_MATRIX),.build/venvs/supervisor-$(version)/.installed)
	$(SWIFT) build --build-tests
	@mkdir -p .build/matrix
	export READINESS_TEST_BUNDLE=$$($(SWIFT) build --show-bin-path)/supervisord-readinessPackageTests.xctest; \
	printf '%s\n' $(SUPERVISOR_MATRIX) | xargs -P $(MATRIX_JOBS) -I {} sh -c ' \
		READINESS_SUPERVISOR_VENV=$(CURDIR)/$(call matrix_venv,{}) READINESS_SUPERVISOR_VERSION={} \
		READINESS_BIN_DIR=$(CURDIR)/$(RELEASE_DIR) \
			"$$READINESS_TEST_BUNDLE" --testing-library swift-testing --filter "$(MATRIX_SUITES)" > .build/matrix/{}.log 2>&1; \
		status=$$?; \
		{ echo "== supervisor {}: $(MATRIX_SUITES): exit $$status"; cat .build/matrix/{}.log; } | flock .build/matrix/print.lock cat; \
		exit $$status'

# The arm64 release binaries under qemu-user (Debian's qemu-user-static, installed
# when missing), against the same real supervisord (.venv's): supervisord's
# command= runs the listener through qemu-aarch64-static and the tests run the
# probe through it (READINESS_EMULATOR), explicitly, whether or not binfmt_misc
# knows aarch64. The suites that run the binaries themselves; the unit tests run
# in the host's test bundle and have no aarch64 build (the toolchain has no
# aarch64 Linux Swift runtime). `make test-arm64-full` adds the status file
# stress test and the supervisord version matrix, all under qemu-user.
# Left out because qemu-user (7.2) is not an aarch64 kernel, each seen failing here:
# - vfork: qemu-user runs clone(CLONE_VM|CLONE_VFORK) as a plain fork, so the
#   hook's execve error never reaches the probe's memory (the hook "exits 127"):
#   ProbeTests' hookThatIsADirectoryOrForeignOwnedOrNotAProgram, hookBeingWrittenIsUnusable.
# - PR_SET_CHILD_SUBREAPER: qemu-user refuses it (EINVAL), so a hook's processes
#   that left its group (setsid) are reparented past the probe and outlive it:
#   ProbeHookLifecycleTests' hookWhoseChildCallsSetsid, probeSentSigtermWhileItsHookRuns,
#   hookExitingZeroWithABackgroundChild (passes only when the group kill wins
#   the race with setsid), ProbeSignalTests' signalWhileAHookRuns.
# - /proc/PID/status shows qemu's own signal handlers (installed before the
#   guest's), so the test cannot tell when the probe caught SIGINT/SIGTERM:
#   ProbeSignalTests' signalBetweenChecks.
# - the hook, a host program exec'd by qemu-user under a parent ignoring signals,
#   starts with signal 32 ignored: ProbeSignalTests' hookStartsWithTheParentsIgnoredSignalsAtDefault.
# pidfds (pidfd_open), signals to process groups and the rest pass through.
ARM64_DIR := .build/embedded-arm64$(LIBC_SUFFIX)
QEMU_AARCH64 ?= /usr/bin/qemu-aarch64-static
ARM64_SUITES := $(MATRIX_SUITES)|HeldAnswerTests|ProbeTests|ProbeHookLifecycleTests|ProbeSignalTests|ListenerProtocolTests|ReleaseTests|HTTPProbeTests
ARM64_SKIP := ProbeTests/hookThatIsADirectoryOrForeignOwnedOrNotAProgram|ProbeTests/hookBeingWrittenIsUnusable|$\
	ProbeHookLifecycleTests/hookWhoseChildCallsSetsid|ProbeHookLifecycleTests/probeSentSigtermWhileItsHookRuns|$\
	ProbeHookLifecycleTests/hookExitingZeroWithABackgroundChild|$\
	ProbeSignalTests/signalWhileAHookRuns|ProbeSignalTests/signalBetweenChecks|ProbeSignalTests/hookStartsWithTheParentsIgnoredSignalsAtDefault
# $(1): extra environment, $(2): the suites.
arm64_test = READINESS_BIN_DIR=$(CURDIR)/$(ARM64_DIR) READINESS_RELEASE_DIR=$(CURDIR)/$(ARM64_DIR) READINESS_EMULATOR=$(QEMU_AARCH64) $(1) \
	$(SWIFT) test --disable-xctest --skip-build --filter '$(2)' --skip '$(ARM64_SKIP)'

arm64-emulator:
	@test -x $(QEMU_AARCH64) || (apt-get update -qq && apt-get install -y -qq --no-install-recommends qemu-user-static)

test-arm64: $(VENV_STAMP) arm64-emulator
	@mkdir -p .build && date +%s > .build/test-arm64.started
	$(MAKE) release ARCH=arm64
	$(SWIFT) build --build-tests
	$(call arm64_test,,$(ARM64_SUITES))
	@echo "== test-arm64: $$(( $$(date +%s) - $$(cat .build/test-arm64.started) )) s"

test-arm64-full: test-arm64 $(foreach version,$(SUPERVISOR_MATRIX),.build/venvs/supervisor-$(version)/.installed)
	$(call arm64_test,,StatusFileStressTests)
	for version in $(SUPERVISOR_MATRIX); do \
		echo "== arm64, supervisor $$version: $(MATRIX_SUITES)"; \
		$(call arm64_test,READINESS_SUPERVISOR_VENV=$(CURDIR)/$(call matrix_venv,$$version) READINESS_SUPERVISOR_VERSION=$$version,$(MATRIX_SUITES)) || exit 1; \
	done

# The integration suites (native) and the arm64 suites (under qemu-user),
# FLAKE_ROUNDS times, the last FLAKE_HOG_ROUNDS of them beside a CPU hog (a
# busy loop per core); prints each test that failed at least once, with its
# count (Tests/flake-hunt.sh). The hog rounds run exactly as the others do,
# with make test's deadlines. Not part of `make test`.
FLAKE_ROUNDS ?= 10
FLAKE_HOG_ROUNDS ?= 3
FLAKE_SETS ?= integration arm64
INTEGRATION_SUITES := ^IntegrationTests\.
flake_set_integration = integration=READINESS_BIN_DIR=$(CURDIR)/$(RELEASE_DIR) READINESS_RELEASE_DIR=$(CURDIR)/$(RELEASE_DIR) \
	$(SWIFT) test --disable-xctest --skip-build --filter '$(INTEGRATION_SUITES)' --skip '$(E2E_SUITES)'
flake_set_arm64 = arm64=$(call arm64_test,,$(ARM64_SUITES))
flake-hunt: $(VENV_STAMP) release $(if $(filter arm64,$(FLAKE_SETS)),arm64-emulator)
	$(if $(filter arm64,$(FLAKE_SETS)),$(MAKE) release ARCH=arm64)
	$(SWIFT) build --build-tests
	Tests/flake-hunt.sh $(FLAKE_ROUNDS) $(FLAKE_HOG_ROUNDS) $(CURDIR)/.build/flake-hunt -- \
		$(foreach set,$(FLAKE_SETS),"$(flake_set_$(set))")

# The product in a real container: Debian 12's own supervisord as PID 1 under
# runc, the probe through `runc exec`. The root file system is debootstrapped
# once and cached under a name that says what it holds; it stays pristine
# (each container gets an overlay). The installed layer is built with the
# README's Dockerfile steps (a test compares them).
E2E_SUITES := ContainerTests|ServicesContainerTests
E2E_DIR := .build/e2e
E2E_RELEASE := bookworm
# supervisor is the product's runtime; redis-server and haproxy are Debian's own
# daemons that send sd_notify READY=1 (the services e2e, ServicesContainerTests);
# its tcp-checked web server is python3's http.server (python3 comes with supervisor).
# The cache's name lists the packages, joined with + (a comma in the path would
# end the overlay mount's lowerdir= option): changing the list builds a new root
# beside the old one, which nothing reads any more (`make clean` removes it).
E2E_PACKAGES := supervisor redis-server haproxy
E2E_COMMA := ,
E2E_BASE := $(E2E_DIR)/debian-$(E2E_RELEASE)-minbase-$(subst $() ,+,$(strip $(E2E_PACKAGES)))
E2E_OUT := $(E2E_DIR)/installed
E2E_MIRROR = $(or $(shell sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1),http://deb.debian.org/debian)

$(E2E_BASE).stamp:
	@command -v runc >/dev/null && command -v debootstrap >/dev/null || (apt-get update -qq && apt-get install -y -qq runc debootstrap)
	rm -rf $(E2E_BASE) $(E2E_BASE).tmp
	mkdir -p $(E2E_DIR)
	debootstrap --variant=minbase --include=$(subst $() ,$(E2E_COMMA),$(strip $(E2E_PACKAGES))) $(E2E_RELEASE) $(CURDIR)/$(E2E_BASE).tmp $(E2E_MIRROR)
	mv $(E2E_BASE).tmp $(E2E_BASE)
	touch $@

# The Dockerfile's build stage: COPY --from=runtime /etc/supervisor/ /out/etc/supervisor/,
# then make install DESTDIR=/out PREFIX=/usr. E2E_BREAK_INSTALL=1 leaves the
# listener's config out, to see the e2e fail.
e2e-install: $(E2E_BASE).stamp
	rm -rf $(E2E_OUT)
	mkdir -p $(E2E_OUT)/etc
	cp -a $(E2E_BASE)/etc/supervisor/ $(E2E_OUT)/etc/supervisor/
	$(MAKE) install DESTDIR=$(CURDIR)/$(E2E_OUT) PREFIX=/usr ARCH=$(ARCH)
	$(if $(E2E_BREAK_INSTALL),rm $(E2E_OUT)/etc/supervisor/conf.d/readiness_listener.conf)

e2e: e2e-install
	$(SWIFT) build --build-tests
	READINESS_E2E_BASE=$(CURDIR)/$(E2E_BASE) READINESS_E2E_INSTALLED=$(CURDIR)/$(E2E_OUT) \
		$(SWIFT) test --disable-xctest --skip-build --filter '$(E2E_SUITES)'

release: $(RELEASE_DIR)/readiness_listener $(RELEASE_DIR)/readiness_probe
	@ls -l $^
	@file $^

# The C library's Debian packages, checked before each build (order-only: they
# do not make the objects out of date) and installed when missing.
libc-packages-musl-x86_64:
	@test -e /usr/lib/x86_64-linux-musl/libc.a || (apt-get update -qq && apt-get install -y -qq --no-install-recommends musl-dev)
libc-packages-musl-arm64:
	@test -e /usr/lib/aarch64-linux-musl/libc.a || ( (dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64) && \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends musl-dev:arm64)
libc-packages-glibc-x86_64:
libc-packages-glibc-arm64:
	@test -e $(ARM64_SYSROOT)/lib/libc.a && ls /usr/lib/gcc-cross/aarch64-linux-gnu/*/crtbeginT.o >/dev/null 2>&1 || \
		(apt-get update -qq && apt-get install -y -qq --no-install-recommends libc6-dev-arm64-cross libgcc-12-dev-arm64-cross)

$(RELEASE_DIR)/CReadiness.o $(RELEASE_DIR)/EmbeddedMain.o $(RELEASE_DIR)/EmbeddedUnicode.o: $(RELEASE_DIR)/%.o: Sources/CReadiness/%.c $(C_SOURCES) | $(LIBC_PACKAGES)
	mkdir -p $(RELEASE_DIR)
	$(CLANG) $(C_TARGET) -Os -ffunction-sections -fdata-sections -I Sources/CReadiness/include -c $< -o $@

$(RELEASE_DIR)/ReadinessCore.o: $(CORE_SOURCES) | $(LIBC_PACKAGES)
	mkdir -p $(RELEASE_DIR)
	$(SWIFTC) $(EMBEDDED_FLAGS) -parse-as-library -module-name ReadinessCore \
		-emit-module -emit-module-path $(RELEASE_DIR)/ReadinessCore.swiftmodule -c $^ -o $@
	touch $@

$(RELEASE_DIR)/ReadinessPlatform.o: $(PLATFORM_SOURCES) $(RELEASE_DIR)/ReadinessCore.o $(C_SOURCES)
	$(SWIFTC) $(EMBEDDED_FLAGS) -parse-as-library -module-name ReadinessPlatform \
		-emit-module -emit-module-path $(RELEASE_DIR)/ReadinessPlatform.swiftmodule -c $(PLATFORM_SOURCES) -o $@
	touch $@

.SECONDEXPANSION:
# Embedded mode compiles the libraries' generic code into the executable's own
# object, so it depends on both libraries; swiftc leaves an unchanged object's
# time stamp alone, hence the touch.
$(RELEASE_DIR)/readiness_%.o: $$(wildcard Sources/readiness_%/*.swift) $(RELEASE_DIR)/ReadinessPlatform.o $(RELEASE_DIR)/ReadinessCore.o
	$(SWIFTC) $(EMBEDDED_FLAGS) $(ENTRY_FLAGS) -module-name readiness_$* -c $(filter %.swift,$^) -o $@
	touch $@
.SECONDARY: $(RELEASE_DIR)/readiness_listener.o $(RELEASE_DIR)/readiness_probe.o

$(RELEASE_DIR)/readiness_%: $(RELEASE_DIR)/readiness_%.o $(RELEASE_DIR)/ReadinessPlatform.o $(RELEASE_DIR)/ReadinessCore.o \
		$(RELEASE_DIR)/CReadiness.o $(RELEASE_DIR)/EmbeddedMain.o $(RELEASE_DIR)/EmbeddedUnicode.o
	$(CLANG) $(LINK_TARGET) $(LINK_START) $^ $(EMBEDDED_LINK) -o $@
	$(if $(DROP_UNWIND_TABLES),$(DROP_UNWIND_TABLES) $@)

# The config first: when the include directory cannot be told, nothing is installed.
install: release
	DESTDIR='$(DESTDIR)' SUPERVISORD_CONF='$(SUPERVISORD_CONF)' SUPERVISOR_INCLUDE_DIR='$(SUPERVISOR_INCLUDE_DIR)' \
		SUPERVISOR_INCLUDE_EXT='$(SUPERVISOR_INCLUDE_EXT)' supervisor.d/install-config.sh supervisor.d/readiness_listener.conf
	install -D -m 0755 $(RELEASE_DIR)/readiness_listener $(DESTDIR)$(PREFIX)/bin/readiness_listener
	install -D -m 0755 $(RELEASE_DIR)/readiness_probe $(DESTDIR)$(PREFIX)/bin/readiness_probe
	ln -sf readiness_probe $(DESTDIR)$(PREFIX)/bin/readiness_probe.sh

clean:
	rm -rf .build $(VENV)

# A live view of what kubelet sees while start.sh initializes; DEMO_FAIL=1 for a failing start.sh.
demo: build $(VENV_STAMP)
	DEMO_FAIL=$(if $(FAIL),1,0) examples/demo/demo.sh

# Start-up, throughput and memory against floors measured in the same run;
# prints a table and writes .build/bench/results.md. Needs hyperfine and musl-gcc (installed
# from Debian when missing: musl-gcc builds the musl no-op floor) and a C compiler for the floors and the protocol
# driver; the `runc exec` rows run in the e2e's root file system; the
# `--service` rows (bench/services.sh) need python3 for a fake XML-RPC server; the
# many-processes rows (bench/many_processes.sh), the .venv's supervisord; the
# `--start-after` rows (bench/start_order.sh), python3 for the same fake server.
# The arm64 binaries add their sizes only.
bench: release $(VENV_STAMP) e2e-install
	@command -v hyperfine >/dev/null && command -v musl-gcc >/dev/null || (apt-get update -qq && apt-get install -y -qq hyperfine musl-tools)
	$(MAKE) release ARCH=arm64
	BENCH_ROOTFS=$(CURDIR)/$(E2E_OUT):$(CURDIR)/$(E2E_BASE) bench/run.sh $(CURDIR)/$(RELEASE_DIR) $(CURDIR)/$(ARM64_DIR)

# The model of supervisord (SupervisordModelTests) over MODEL_HISTORIES seeded
# histories; `make test` runs 10,000.
MODEL_HISTORIES ?= 200000
model:
	$(SWIFT) build --build-tests
	READINESS_MODEL_HISTORIES=$(MODEL_HISTORIES) $(SWIFT) test --disable-xctest --skip-build --filter SupervisordModelTests

# libFuzzer (coverage-guided, with AddressSanitizer) on the five parsers that
# read outside bytes: the event framer, the status file parser, the XML-RPC
# answer parser, the HTTP request head parser and the sd_notify message
# parser, FUZZ_SECONDS each (default 60). `make test` runs a bounded, seeded
# fuzzer of its own on the same parsers.
FUZZ_SECONDS ?= 60
FUZZ_DIR := .build/fuzz
fuzz:
	mkdir -p $(FUZZ_DIR)
	$(dir $(SWIFT))swiftc -O -sanitize=fuzzer,address -parse-as-library -package-name readiness -module-name ReadinessFuzz \
		$(CORE_SOURCES) Tests/LibFuzzer/Fuzz.swift -o $(FUZZ_DIR)/readiness_fuzz
	for target in framer status xmlrpc http notify; do \
		mkdir -p $(FUZZ_DIR)/corpus-$$target && \
		READINESS_FUZZ_TARGET=$$target $(FUZZ_DIR)/readiness_fuzz -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 \
			-print_final_stats=1 $(FUZZ_DIR)/corpus-$$target || exit 1; \
	done
