# fair_seg_al — every target installs what it needs first (into .venv), so each works
# on a fresh clone. On a machine without an NVIDIA GPU the CPU build of torch is
# installed; with one, pip's default (CUDA) build. Override with TORCH_SPEC=... or
# TORCH_INDEX_URL=... (e.g. a CPU wheel index elsewhere).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)
TORCH_SPEC ?= $(if $(HAS_GPU),torch,torch==2.13.0)
TORCH_INDEX_URL ?=
PYTEST_ARGS ?=

.PHONY: install test test-slow test-all demo audit example-sweep calibrate estimator-benchmark sweep-cpu powered-replication replication-report slurm-local sync wandb-report generate figures lint format bench clean help

help:
	@echo "make install   create $(VENV) and install fair_seg_al with its dependencies"
	@echo "make demo      install, then run the main job on the built-in default (CPU)"
	@echo "make example-sweep  the four-job comparison (weighted_entropy/entropy x strong/weak)"
	@echo "make test      install, then run the fast test suite"
	@echo "make audit     the pipeline audit of the default job, per group (ARGS='experiment=...' for a sweep's)"
	@echo "make test-slow install, then run the slow tests (longer end-to-end runs)"
	@echo "make estimator-benchmark  which group-performance estimator tracks the test Dice (about 45 min here)"
	@echo "make sweep-cpu the paper's grid at CPU scale (about 20 min here), then its report"
	@echo "make powered-replication  12 paired seeds, 8 strategies, strong bias (hours; resumable chunks)"
	@echo "make replication-report   rebuild docs/replication/ from the archived raw runs"
	@echo "make sync      upload offline W&B runs"
	@echo "make wandb-report ARGS='--entity E --sweep NAME'  the sweep's W&B comparison report (--dry-run: print it)"
	@echo "make lint      ruff"
	@echo "make bench     benchmarks (numbers go to docs/benchmarks.md)"

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools>=77"  # setuptools: tests build a wheel without isolation
	$(PY) -m pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL))
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

test: install  ## one worker per core (pytest-xdist); PYTEST_ARGS="-n 0" runs in one process
	$(PY) -m pytest -q -n auto --dist worksteal $(PYTEST_ARGS)

test-slow: install
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

test-all: test test-slow

demo: install
	$(PY) -m fair_seg_al.main

audit: install ## does any stage of the data pipeline treat the groups differently? (docs/audit.md)
	$(PY) -m fair_seg_al.audit $(ARGS)

example-sweep: install
	$(PY) -m fair_seg_al.main -m strategy=weighted_entropy,entropy bias=strong,weak

calibrate: install
	$(PY) sweeps/calibrate_bias.py

estimator-benchmark: install
	bash sweeps/estimator_benchmark.sh
	ARM=entropy bash sweeps/estimator_benchmark.sh

sweep-cpu: install
	$(PY) -m fair_seg_al.main -m experiment=sweep_cpu
	$(PY) -m fair_seg_al.analysis.report logs/al/multiruns/sweep_cpu

powered-replication: install ## the powered replication in resumable chunks (hours; CELL=minority|weak for the other cells)
	COMMIT=$(COMMIT) bash sweeps/powered_replication.sh

replication-report: install ## rebuild docs/replication/<sweep>/ (tables, figures, verdicts) from the archived raw runs
	$(PY) sweeps/replication_report.py

slurm-local: ## start a one-node SLURM cluster on this machine (root; Debian/Ubuntu)
	bash sweeps/slurm/start_local_cluster.sh

sync: install ## upload offline W&B runs (needs `wandb login` or WANDB_API_KEY)
	$(VENV)/bin/wandb sync $$(find logs -type d -name 'offline-run-*' | sort)

wandb-report: install ## the sweep's comparison report on W&B (docs/wandb.md); ARGS='--entity E --sweep NAME [--dry-run]'
	$(PY) -m fair_seg_al.wandb_report $(ARGS)

generate: install
	$(PY) -m fair_seg_al.generate $(ARGS)

figures: install ## the cohort figures in docs/figures (the six-brain figure's per-subject CSV beside it, and the cohort checks' CSV)
	$(PY) -m fair_seg_al.generate bias=strong n_subjects=20 out_dir=data/cohorts/readme-strong figure=false overwrite=true
	$(PY) -m fair_seg_al.viz data/cohorts/readme-strong --out docs/figures/cohort_strong.png
	$(PY) -m fair_seg_al.generate cohort=anatomies bias=strong n_subjects=48 out_dir=data/cohorts/readme-anatomies figure=false overwrite=true
	$(PY) -m fair_seg_al.viz data/cohorts/readme-anatomies --by-anatomy --out docs/figures/cohort_anatomies.png
	$(PY) -m fair_seg_al.viz --t1-anatomies --out docs/figures/cohort_anatomies_t1.png
	$(PY) -m fair_seg_al.cohort.checks --subjects 8 --csv docs/figures/cohort_checks.csv

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) benchmarks/bench_generate.py
	$(PY) benchmarks/bench_generate.py --anatomies
	$(PY) benchmarks/bench_al.py
	$(PY) benchmarks/bench_uncertainty.py
	$(PY) benchmarks/bench_rounds.py
	$(PY) benchmarks/bench_train_step.py
	$(PY) benchmarks/bench_train_step.py --interleaved
	$(PY) benchmarks/bench_sweep.py
	$(PY) benchmarks/bench_patches.py
	$(PY) benchmarks/bench_boundary_metrics.py
	$(PY) benchmarks/bench_augmentation.py
	$(PY) benchmarks/bench_augmentation_runs.py --report   # its runs take hours: see the script
	$(PY) benchmarks/collect.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
