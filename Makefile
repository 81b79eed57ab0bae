# clusir-book: two commands do everything.
#   make book   set up .venv, run every chapter (papermill, quick profile, offline CPU), build the HTML
#   make test   set up .venv, run the unit tests, then nbval on the chapters
#   make check-html  open the built book in headless Chromium (after `make book`; `make chromium` installs it)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
CHAPTERS ?=
STAMP := $(VENV)/.installed

.PHONY: book full test unit nbval setup refresh html clean help chromium check-html

help:
	@echo "make book   - run all chapters (quick profile) and build _build/html"
	@echo "make test   - unit tests + nbval over the chapters"
	@echo "make full   - run all chapters with the full (GPU) profile, then build"
	@echo "make refresh - re-run chapters and store contract-cell outputs in book/*.ipynb"
	@echo "make check-html - the browser check of the built book (screenshots in _build/screenshots)"
	@echo "make chromium - install Debian's chromium for the browser check, if missing (needs root)"

# The venv is (re)installed when pyproject.toml changes. torch==2.13.0 is the CPU wheel on the machine's
# disk; it is installed in the same pip command as everything else so nothing pulls a CUDA build.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[book,test]"
	@touch $(STAMP)

setup: $(STAMP)

book: $(STAMP)
	$(VENV)/bin/clusir book run --profile $(PROFILE) $(CHAPTERS)
	$(VENV)/bin/clusir book html

full:
	$(MAKE) book PROFILE=full

html: $(STAMP)
	$(VENV)/bin/clusir book html

refresh: $(STAMP)
	$(VENV)/bin/clusir book run --profile quick --refresh $(CHAPTERS)

unit: $(STAMP)
	$(PY) -m pytest -q tests

nbval: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env \
		--nbval-sanitize-with book/nbval_sanitize.cfg --nbval-cell-timeout=600 \
		$$($(PY) -m clusir.exercises prepare _build/nbval)

test: unit nbval

# The browser check needs Chromium. Installed from Debian where missing and we are root; otherwise say so:
# the check itself then skips loudly (CI passes REQUIRE_BROWSER=1, so there it fails instead).
chromium:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; then \
		echo "chromium: found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "!! chromium is missing and cannot be installed here (needs root and apt-get): the browser check will skip"; \
	fi

REQUIRE_BROWSER ?=
check-html: $(STAMP)
	$(PY) -m clusir.htmlcheck _build/html $(if $(REQUIRE_BROWSER),--require-browser)

clean:
	rm -rf _build
