# The two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PLUGINS := $(wildcard plugins/*/pyproject.toml)
# pip extras a plugin installs with, by its directory name. The OpenCL plugin brings PoCL, an OpenCL driver
# for the CPU from PyPI, so its conformance suite runs on any machine.
EXTRAS_opencl := [pocl]
PLUGIN_SPECS := $(foreach d,$(patsubst %/pyproject.toml,%,$(PLUGINS)),'$(d)$(EXTRAS_$(notdir $(d)))')
PROTOS := $(wildcard core/tensorflux/proto/*.proto)

.PHONY: install test demo docs lint clean protos

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

install: $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check core plugins tests examples benchmarks
	$(PY) -m pytest -q

# The data sets live in $TENSORFLUX_DATA_DIR/<name>; default to the shared copy beside the checkout when present.
SHARED_DATA := $(abspath ../shared/data)
DATA_ENV := $(if $(TENSORFLUX_DATA_DIR),,$(if $(wildcard $(SHARED_DATA)/mnist),TENSORFLUX_DATA_DIR=$(SHARED_DATA)))

demo: $(STAMP)
	$(PY) examples/linear_regression.py
	$(DATA_ENV) $(PY) examples/mnist_mlp.py

docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict -q

lint: $(STAMP)
	$(PY) -m ruff check core plugins tests examples benchmarks

clean:
	rm -rf $(VENV)
