# The two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# TensorFlow (1.3 GB of a 2 GB venv) is only the reference for the interop tests: `make test` adds it, nothing else.
TEST_STAMP := $(VENV)/.test-installed
PLUGINS := $(wildcard plugins/*/pyproject.toml)
# pip extras a plugin installs with, by its directory name. The OpenCL plugin brings PoCL, an OpenCL driver
# for the CPU from PyPI, so its conformance suite runs on any machine.
EXTRAS_opencl := [pocl]
PLUGIN_SPECS := $(foreach d,$(patsubst %/pyproject.toml,%,$(PLUGINS)),'$(d)$(EXTRAS_$(notdir $(d)))')
PROTOS := $(wildcard core/tensorflux/proto/*.proto)

.PHONY: install test demo docs lint clean protos fuzz

$(STAMP): pyproject.toml $(PLUGINS) $(PROTOS) Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,examples,docs]'
	for p in $(PLUGIN_SPECS); do $(PY) -m pip install -q -e "$$p" || exit 1; done
	$(PY) core/tensorflux/proto/_codegen.py
	touch $(STAMP)

# Regenerate core/tensorflux/proto/*_pb2.py from the .proto files (protoc from grpcio-tools, in the test extra).
protos: $(STAMP)
	$(PY) core/tensorflux/proto/_codegen.py

# SCALE-Sim 3.0.0, the reference tests/plugins/tpu_sim check tpu_sim's cycle model against, runs only with
# numpy<2, which the main venv cannot take: it gets a venv of its own and runs as a subprocess.
$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[tf-interop]'
	$(PY) -m pip install -q --no-deps 'tf-keras==2.21.*'
	$(PYTHON) -m venv $(VENV)/scalesim
	$(VENV)/scalesim/bin/python -m pip install -q 'scalesim==3.0.0' 'numpy<2'
	touch $(TEST_STAMP)

install: $(STAMP)

test: $(TEST_STAMP)
	$(PY) -m ruff check core plugins tests examples benchmarks
	$(PY) -m pytest -q

# The examples find the data sets themselves: $TENSORFLUX_DATA_DIR, else ../shared/data beside the checkout
# (see tf.datasets.mnist.default_dir).
demo: $(STAMP)
	$(PY) examples/linear_regression.py
	$(PY) examples/mnist_mlp.py

docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict -q

lint: $(STAMP)
	$(PY) -m ruff check core plugins tests examples benchmarks

clean:
	rm -rf $(VENV)

# Coverage-guided fuzzing (atheris) of every parser, FUZZ_SECONDS each; corpus and crashes in build/fuzz/<parser>/.
# `make test` runs the short property-based version (tests/fuzz). See docs/hardening.md.
FUZZ_SECONDS ?= 60
FUZZ_PARSERS ?= graph_def graph_def_file meta_graph native_index native_checkpoint npz tf_bundle_index tf_bundle_entry checkpoint_state idx idx_gz
fuzz: $(STAMP)
	for p in $(FUZZ_PARSERS); do $(PY) tests/fuzz/run.py $$p $(FUZZ_SECONDS) build/fuzz || exit 1; done
