# v6conform: `make lab` checks the built-in lab, `make test` runs the project's tests.
# Both install what they need first (Debian packages as root, a .venv from PyPI), once.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEB_PACKAGES := docker.io radvd unbound tayga busybox-static iproute2 iptables nftables ndisc6 \
                procps psmisc util-linux mount python3-venv debootstrap \
                openssh-client
# only for `make test`: a real browser opens the HTML report (tests/test_browser.py), and a
# real ND proxy daemon answers for the containers (tests/lab/test_routed_prefix_lab.py)
DEB_TEST_PACKAGES := chromium ndppd
SCENARIO ?= healthy
DOCKER ?= 20.10
# Docker 29 only: iptables (Docker's default) or nftables
FIREWALL_BACKEND ?=
# `make test`'s pytest-xdist workers, each with labs of its own names (tests/lab/names.py);
# TEST_WORKERS=0 runs the tests in one process
TEST_WORKERS ?= 2

.PHONY: lab test lint deps deps-debian deps-test apt-install venv clean lab-down help

help:
	@echo "make lab    - all suites against the built-in lab (scenario $(SCENARIO), Docker $(DOCKER)); reports in reports/out/"
	@echo "             e.g. make lab DOCKER=28 SCENARIO=nat66 (DOCKER: 20.10, 26, 28, 29)"
	@echo "             DOCKER=29 is built once from moby's source: V6CONFORM_MOBY_SOURCE=TARBALL"
	@echo "             FIREWALL_BACKEND=nftables: Docker 29's nftables backend (default iptables)"
	@echo "make test   - lint and the project's own tests (unit tests and lab integration tests)"
	@echo "             on TEST_WORKERS=$(TEST_WORKERS) pytest-xdist workers (0: in one process)"
	@echo "make deps   - install Debian packages and the .venv only"
	@echo "make lab-down - remove a lab left behind (python -m lab down)"

lab: deps
	$(BIN)/pytest suites/ --lab $(SCENARIO) --docker $(DOCKER) \
		$(if $(FIREWALL_BACKEND),--firewall-backend $(FIREWALL_BACKEND))

test: deps deps-test lint
	$(BIN)/pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadgroup)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

deps: deps-debian venv

deps-debian:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(DEB_PACKAGES)"

deps-test:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(DEB_TEST_PACKAGES)"

apt-install:
	@if [ "$$(id -u)" != 0 ]; then echo "make: run as root (the lab needs network namespaces and its own dockerd)"; exit 1; fi
	@missing=$$(for p in $(PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "make: installing Debian packages:" $$missing "(this takes a few minutes once)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "make: creating $(VENV) and installing Python packages from PyPI"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

lab-down: venv
	$(BIN)/python -m lab down

clean:
	rm -rf $(VENV) reports/out .mypy_cache .ruff_cache .tox *.egg-info
