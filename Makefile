# Two commands do all the set-up on a fresh machine (Python 3.11, the one version
# tested; setup.py: python_requires=">=3.11,<3.12"):
#   make demo   - make the demo videos, train/test TSM, TSN and TAda2D with
#                 MMAction2's stock tools/train.py and tools/test.py, print the
#                 accuracies
#   make test   - run the test suite: in .venv (the core install, torch 2.13.0
#                 CPU), then the tests marked `zoo` (timm, torchvision and
#                 mmpretrain backbones) in .venv-zoo (torch 2.14.1 +
#                 torchvision 0.29.1, the pair that imports together here)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ZOO_VENV := .venv-zoo
ZOO_BIN := $(ZOO_VENV)/bin
ZOO_STAMP := $(ZOO_VENV)/.installed-stamp

.PHONY: install install-zoo test demo bench clean

install: $(STAMP)

install-zoo: $(ZOO_STAMP)

# torch==2.13.0 is the CPU wheel; an open range would pull a multi-GB CUDA build.
# --no-build-isolation lets setup.py see an mmcv already in the venv (it then
# keeps it instead of adding mmcv-lite).
$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 'setuptools<81' wheel
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-build-isolation -e '.[tests,demo,export]'
	touch $(STAMP)

# PyPI's torchvision does not import beside the torch 2.13.0 CPU wheel; 2.14.1
# and 0.29.1 lie on this machine's disk (a CUDA build that runs on the CPU).
$(ZOO_STAMP): setup.py
	$(PYTHON) -m venv $(ZOO_VENV)
	$(ZOO_BIN)/pip install -q --upgrade pip 'setuptools<81' wheel
	$(ZOO_BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(ZOO_BIN)/pip install -q --no-build-isolation -e '.[tests,export,zoo]'
	touch $(ZOO_STAMP)

# Core tests on 2 workers (pytest-xdist; a test module stays on one worker, so
# its module fixtures are built once; the slowest modules start first, in
# tests/conftest.py's order: --no-loadscope-reorder keeps xdist from ordering
# them by their number of tests; the demo's three trainings lead), then the zoo
# tests; prints the time.
# OMP_NUM_THREADS=1 in the parallel part: one thread per process, the tools
# the tests start included; two workers of two spinning OpenMP threads each on
# 2 cores took 27 min instead of 14.
PYTEST_WORKERS ?= 2
test: $(STAMP) $(ZOO_STAMP)
	@start=$$(date +%s); \
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder -m 'not zoo' tests && \
	echo "core tests: $$(( $$(date +%s) - start )) s" && \
	$(ZOO_BIN)/python -m pytest -q -m zoo tests; \
	status=$$?; echo "make test: $$(( $$(date +%s) - start )) s (exit $$status)"; exit $$status

demo: $(STAMP)
	$(BIN)/python -m tsm_plugin.demo.run --work-dir work_dirs/demo

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_shift.py --out benchmarks/results
	$(BIN)/python benchmarks/bench_tada.py --out benchmarks/results
	$(BIN)/python benchmarks/bench_online.py --out benchmarks/results
	$(BIN)/python benchmarks/bench_export.py --out benchmarks/results

clean:
	rm -rf $(VENV) $(ZOO_VENV) work_dirs
