# Two commands set up everything on a fresh machine with Python 3.11:
#   make demo   create .venv, install, run the pipeline on the bundled real catalog
#   make test   create .venv, install, install Debian's chromium and a Chinese font for the browser
#               tests, run the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser tests drive Debian's Chromium through Playwright; Playwright's own browser download
# is not used. A Chinese font lets their screenshots of the dashboard show text instead of boxes.
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test install serve benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Huiju needs Python 3.11; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/huiju demo

$(CHROMIUM):
	$(SUDO) apt-get install -y --no-install-recommends chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; }

$(CJK_FONT):
	$(SUDO) apt-get install -y --no-install-recommends fonts-wqy-microhei || { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends fonts-wqy-microhei; }

serve: $(STAMP)
	$(BIN)/huiju serve

# The load benchmark: synthetic catalogs of 10k, 100k and 1M items against plain baselines.
benchmark: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/python -m benchmarks.run

test: $(STAMP) $(CHROMIUM) $(CJK_FONT)
	$(BIN)/python -m pytest -n 2 --dist loadfile

clean:
	rm -rf var dbt_project/target dbt_project/logs
