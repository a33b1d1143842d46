# GENMO Studio: `make studio` installs and starts the studio; `make test` installs the test extras and runs every test.
# Everything installed comes from packages.txt (apt) and pyproject.toml (pip, through requirements.txt).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Where an index cannot be reached (PyTorch's CPU index from a machine that only reaches PyPI), pip
# retries every page five times with back-off, about 8 s per package; one retry keeps that brief.
PIP_RETRIES ?= 1
PIP := PIP_RETRIES=$(PIP_RETRIES) $(PY) -m pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_RUNTIME := $(shell cat packages.txt)
# chromium for the browser tests; portaudio19-dev to build pyaudio, which tinysoundfont requires
APT_TEST := chromium portaudio19-dev

.PHONY: studio test install install-test apt apt-test requirements

studio: install
	$(PY) app.py

test: install-test
	bash .ci/run-tests

apt:
	$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_RUNTIME)

apt-test: apt
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_TEST)

# requirements.txt is generated from pyproject.toml (tests/test_packaging.py checks that they agree)
requirements:
	$(PYTHON) scripts/requirements.py

$(VENV)/.installed: requirements.txt pyproject.toml packages.txt
	$(MAKE) apt
	$(PYTHON) -m venv --clear $(VENV)  # from nothing: no packages left from an older declaration
	$(PIP) install -q -r requirements.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(MAKE) apt-test
	$(PIP) install -q -r requirements.txt -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test
