# supervisord readiness: readiness_listener, readiness_probe and supervisor.d/.
# `make test` and `make demo` install what they need (supervisor from PyPI into .venv).

SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
PYTHON ?= python3
SUPERVISOR_VERSION := 4.3.0
VENV := .venv
SUPERVISORD := $(VENV)/bin/supervisord
PREFIX ?= /usr
SYSCONFDIR ?= /etc
DESTDIR ?=
# Fully static, stripped: no Swift runtime and no dynamic loader needed at run time.
RELEASE_FLAGS := -c release -Xswiftc -static-executable -Xlinker -s
RELEASE_DIR = $(shell $(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)

.PHONY: all build test release install demo bench clean

all: build

build:
	$(SWIFT) build

# The pinned supervisord the integration tests run against, in a local virtualenv.
$(SUPERVISORD):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check supervisor==$(SUPERVISOR_VERSION)
	@$(SUPERVISORD) --version | grep -qx '$(SUPERVISOR_VERSION)'

test: $(SUPERVISORD)
	$(SWIFT) build --build-tests
	$(SWIFT) test --disable-xctest --skip-build

release:
	$(SWIFT) build $(RELEASE_FLAGS)
	@ls -l $(RELEASE_DIR)/readiness_listener $(RELEASE_DIR)/readiness_probe

install: release
	install -D -m 0755 $(RELEASE_DIR)/readiness_listener $(DESTDIR)$(PREFIX)/bin/readiness_listener
	install -D -m 0755 $(RELEASE_DIR)/readiness_probe $(DESTDIR)$(PREFIX)/bin/readiness_probe
	ln -sf readiness_probe $(DESTDIR)$(PREFIX)/bin/readiness_probe.sh
	install -D -m 0644 supervisor.d/readiness_listener.conf $(DESTDIR)$(SYSCONFDIR)/supervisor.d/readiness_listener.conf

clean:
	rm -rf .build $(VENV)

# A live view of what kubelet sees while start.sh initializes; DEMO_FAIL=1 for a failing start.sh.
demo: build $(SUPERVISORD)
	DEMO_FAIL=$(if $(FAIL),1,0) examples/demo/demo.sh
