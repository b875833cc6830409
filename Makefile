# mnistlib: every task starts here. `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
PYTHON    ?= $(shell command -v python3.11 || command -v python3)
CONSTRAINTS := requirements/constraints.txt
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

# Use the shared copy of MNIST beside the repository when there is one and nothing else was chosen.
ifeq ($(origin MNIST_DATA_DIR), undefined)
ifneq ($(wildcard ../shared/data/mnist/train-images-idx3-ubyte.gz),)
export MNIST_DATA_DIR := $(abspath ../shared/data/mnist)
endif
endif
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0
# The kernel's channels are encrypted with CurveZMQ keys that jupyter_client makes for it (the python3
# kernelspec declares support); without this, ipykernel >= 7 warns "Kernel is running over TCP without
# encryption" once per notebook.
NBCONVERT_KERNEL := --KernelManager.transport_encryption=auto

.PHONY: help install run test unit nbval lab bench clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install: $(STAMP)  ## create .venv with the pinned versions (run by every other target)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools>=77"
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	@touch $@

run: install  ## the main job: execute the notebook series in place (full profile), writing figures/ and models/
ifeq ($(NOTEBOOKS),)
	$(VENV)/bin/mnistlib data
	@echo "No notebooks yet: 'make run' will execute notebooks/NN_*.ipynb in order once they exist."
else
	@for nb in $(NOTEBOOKS); do \
	  echo "== $$nb"; \
	  $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace $(NBCONVERT_KERNEL) \
	    --ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.kernel_name=python3 "$$nb" || exit 1; \
	done
endif

test: unit nbval  ## unit tests, then the notebooks under nbval (quick profile)

unit: install
	$(PY) -m pytest tests

nbval: install
ifneq ($(NOTEBOOKS),)
	MNISTLIB_QUICK=1 $(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider $(NOTEBOOKS)
endif

lab: install  ## open JupyterLab on notebooks/ with the project's environment as the kernel
	$(VENV)/bin/jupyter lab notebooks/

bench: install  ## benchmarks (not part of CI); results in benchmarks/README.md
	$(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_select.py cnn_fast
	$(PY) benchmarks/bench_select.py dense --runs 3
	$(PY) benchmarks/bench_models.py
	$(PY) benchmarks/bench_predict.py
	$(PY) benchmarks/bench_numbers.py
	$(PY) benchmarks/bench_runtime.py
	$(PY) benchmarks/bench_paper.py
	$(PY) benchmarks/bench_calibration.py
	$(PY) benchmarks/bench_reject.py

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache *.egg-info
