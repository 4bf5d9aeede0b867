# Two commands do all the set-up on a fresh machine (Python 3.11, the one version
# tested; setup.py: python_requires=">=3.11,<3.12"):
#   make demo   - make the demo videos, train/test TSM, TSN and TAda2D with
#                 MMAction2's stock tools/train.py and tools/test.py, print the
#                 accuracies
#   make test   - run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install test demo bench clean

install: $(STAMP)

# torch==2.13.0 is the CPU wheel; an open range would pull a multi-GB CUDA build.
# --no-build-isolation lets setup.py see an mmcv already in the venv (it then
# keeps it instead of adding mmcv-lite).
$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 'setuptools<81' wheel
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-build-isolation -e '.[tests,demo,export]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

demo: $(STAMP)
	$(BIN)/python -m tsm_plugin.demo.run --work-dir work_dirs/demo

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_shift.py --out benchmarks/results
	$(BIN)/python benchmarks/bench_tada.py --out benchmarks/results
	$(BIN)/python benchmarks/bench_online.py --out benchmarks/results
	$(BIN)/python benchmarks/bench_export.py --out benchmarks/results

clean:
	rm -rf $(VENV) work_dirs
