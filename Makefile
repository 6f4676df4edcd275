# encompass.netlab: development and CI entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
LINK := .collections/ansible_collections/encompass/netlab
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export ANSIBLE_CONFIG := $(CURDIR)/playbooks/ansible.cfg
export PY_COLORS := 0
# Bytecode, written once and kept under .cache/pycache (not beside the sources: the collection's tree stays as git has
# it). The venvs are installed without it (--no-compile) so that only what is imported gets compiled, on first use; on
# a machine whose environment sets PYTHONDONTWRITEBYTECODE (this lab's does) nothing was ever written, and every
# ansible-playbook, pytest and molecule process compiled again everything it imported. A full pipework run on one
# Docker-in-Docker host, controller CPU: 11.1 and 10.2 s without, 9.5 and 9.7 s with.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX := $(CURDIR)/.cache/pycache
export ANSIBLE_FORCE_COLOR := 0

.PHONY: help venv link demo test lint sanity unit integration molecule images bench build clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

venv: $(VENV)/.installed .venv-sanity/.installed link ## Make the pinned tool environments (.venv; .venv-sanity for ansible-test)

# --no-compile: Python compiles what is imported, on first use; compiling every file of every package at install time
# (the ansible package holds tens of thousands) took more than half of the install's CPU (112 -> 47 CPU-s, dev.txt).
$(VENV)/.installed: requirements/dev.txt requirements/constraints.txt
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-compile -r requirements/dev.txt -c requirements/constraints.txt
	touch $@

# ansible-test sanity's own pinned requirements, apart from .venv's pins.
.venv-sanity/.installed: requirements/sanity.txt
	python3 -m venv .venv-sanity
	.venv-sanity/bin/python -m pip install -q --disable-pip-version-check --no-compile -r requirements/sanity.txt
	touch $@

link: $(LINK) ## Make the source tree resolvable as encompass.netlab

$(LINK):
	mkdir -p $(dir $(LINK))
	ln -sfn ../../.. $(LINK)

NET_MODE ?= pipework

demo: $(VENV)/.installed link ## The main job: this machine as a Docker host, the seed's stack wired (NET_MODE=pipework|link|portmap)
	cd playbooks && $(BIN)/ansible-playbook demo.yml -e net_mode=$(NET_MODE)
	@echo "topology: $(CURDIR)/playbooks/topology/topology.svg"

images: venv ## Build the offline base images, the Docker-in-Docker host images and the stack's images (skipped when current)
	cd playbooks && $(BIN)/ansible-playbook lab_images.yml

test: venv ## Every gate: sanity, lint, unit, integration, molecule; ends with "N passed, N failed"
	$(BIN)/python tests/gates.py sanity lint unit integration molecule

sanity: venv ## ansible-test sanity on a copy laid out as ansible_collections/encompass/netlab
	$(BIN)/python tests/gates.py sanity

lint: venv ## ansible-lint, production profile
	$(BIN)/python tests/gates.py lint

unit: venv ## Unit tests of the pure logic
	$(BIN)/python tests/gates.py unit

integration: venv ## Integration tests on this machine's real daemons
	$(BIN)/python tests/gates.py integration

molecule: venv ## Every Molecule scenario (Docker-in-Docker hosts)
	$(BIN)/python tests/gates.py molecule

bench: venv images ## Benchmarks that print figures (veth_attach against pipework and docker connect; site.yml re-runs; every overlay path with TSO off and on; multihost overlays; ovn with 50 containers on 6 hosts against Swarm)
	$(BIN)/python bench/veth_attach.py 50
	$(BIN)/python bench/site_modes.py
	$(BIN)/python bench/overlays.py
	$(BIN)/python bench/overlays.py --release trixie
	$(BIN)/python bench/multihost.py
	$(BIN)/python bench/ovn.py
	$(BIN)/python bench/scale.py

build: venv ## Build the collection tarball into build/
	$(BIN)/ansible-galaxy collection build --force --output-path build .

clean: ## Remove build output (keeps the virtual environments)
	rm -rf build tests/output .collections
