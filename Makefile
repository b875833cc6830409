# mnistlib: every task starts here. `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
PYTHON    ?= $(shell command -v python3.11 || command -v python3)
CONSTRAINTS := requirements/constraints.txt
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
# The project's JupyterLab settings (no "official Jupyter news" prompt, no update check), installed as the
# environment's overrides so `make lab` and the browser tests start the same way on a fresh clone.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json

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

# After a notebook runs, drop what changes at every run and says nothing about the lesson: the execution
# timestamps of each cell and the saved widget state, so that a rerun's diff shows only what changed.
define STRIP_VOLATILE
import sys, nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
nb.metadata.pop("widgets", None)
for cell in nb.cells:
    cell.metadata.pop("execution", None)
nbformat.write(nb, sys.argv[1])
endef
export STRIP_VOLATILE

.PHONY: help install run test unit browser nbval lab bench clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install: $(STAMP) $(LAB_OVERRIDES)  ## create .venv with the pinned versions (run by every other target)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools>=77"
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	@touch $@

$(LAB_OVERRIDES): jupyter/overrides.json | $(STAMP)
	@mkdir -p $(@D)
	cp $< $@

run: install  ## the main job: execute the notebook series in place (full profile), writing figures/ and models/
ifeq ($(NOTEBOOKS),)
	$(VENV)/bin/mnistlib data
	@echo "No notebooks yet: 'make run' will execute notebooks/NN_*.ipynb in order once they exist."
else
	@$(PY) -c "from mnistlib import panels; moved = panels.archive_log(); moved and print('earlier experiment-panel runs kept in', moved.relative_to(panels.config.project_root()))"
	@for nb in $(NOTEBOOKS); do \
	  echo "== $$nb"; \
	  $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace $(NBCONVERT_KERNEL) \
	    --ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.kernel_name=python3 "$$nb" || exit 1; \
	  $(PY) -c "$$STRIP_VOLATILE" "$$nb" || exit 1; \
	done
endif

test: unit browser nbval  ## unit tests, browser tests (skipped without chromium unless CI is set), notebooks under nbval

unit: install
	$(PY) -m pytest tests --ignore=tests/browser

browser: install  ## JupyterLab + headless Chromium tests (tests/browser; screenshots in build/browser)
	MNISTLIB_QUICK=1 $(PY) -m pytest tests/browser

nbval: install
ifneq ($(NOTEBOOKS),)
	MNISTLIB_QUICK=1 $(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider $(NOTEBOOKS)
endif

lab: install  ## open JupyterLab on notebooks/ with the project's environment as the kernel
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

bench: install  ## benchmarks (not part of CI); results in benchmarks/README.md
	$(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_select.py cnn_fast
	$(PY) benchmarks/bench_select.py dense --runs 3
	$(PY) benchmarks/bench_models.py
	$(PY) benchmarks/bench_predict.py
	$(PY) benchmarks/bench_numbers.py
	$(PY) benchmarks/bench_runtime.py
	$(PY) benchmarks/bench_paper.py
	$(PY) benchmarks/bench_styles.py
	$(PY) benchmarks/bench_calibration.py
	$(PY) benchmarks/bench_detector.py
	$(PY) benchmarks/bench_reject.py

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache *.egg-info
