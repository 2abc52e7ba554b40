# alphaalgo: set-up, the main job and the tests.  Everything installs into .venv/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-all catalog bench-kernels bench-localsearch bench-discover bench-agent bench-campaigns clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,notebooks,distributed]'
	touch $(STAMP)

# The main job: a short discovery campaign on <2,2,2> (the agent starts from the small
# parameters shipped in agents/, pretrained on synthetic demonstrations only).
demo: setup
	mkdir -p runs
	$(BIN)/alphaalgo discover --shape 2,2,2 --ring Z --target-rank 7 --time-limit 300 \
	    --params agents/small-2x2x2-Z.npz --store runs/demo.sqlite --out runs/demo-2x2x2.json
	$(BIN)/alphaalgo verify runs/demo-2x2x2.json
	$(BIN)/alphaalgo results --store runs/demo.sqlite

# The default test run (slow cases are marked and left out; `make test-all` runs them).
test: setup
	$(BIN)/python -m pytest -q

test-all: setup
	$(BIN)/python -m pytest -q -m ""

# Regenerate kernels/ from the constructions and ../shared/reference/alphatensor.
catalog: setup
	$(BIN)/python -m alphaalgo.catalog build

bench-kernels: setup
	$(BIN)/python benchmarks/bench_kernels.py correctness
	$(BIN)/python benchmarks/bench_kernels.py speed --sizes 2048,4096,8192 --dtype float64,float32 --kernels strassen:1,winograd:1 --repeats 3

bench-localsearch: setup
	$(BIN)/python benchmarks/bench_localsearch.py throughput --workers 2
	$(BIN)/python benchmarks/bench_localsearch.py rank --shape 3,3,3 --ring Z2 --target 23 --lift

bench-discover: setup
	$(BIN)/python benchmarks/bench_discover.py --shape 2,2,2 --ring Z --target-rank 7 --seeds 0,1,2,3,4 --time-limit 600
	$(BIN)/python benchmarks/bench_discover.py --shape 2,2,2 --ring Z2 --target-rank 7 --seeds 0,1,2,3,4 --time-limit 600
	$(BIN)/python benchmarks/bench_discover.py --shape 2,2,2 --ring Z2 --target-rank 7 --seeds 0,1,2,3,4 --time-limit 180 \
		--agent small-agent-only --params agents/small-2x2x2-Z2.npz

# Campaign throughput (games/s, simulations/s): local backend, Ray with 1 and 2 actors.
bench-agent: setup
	$(BIN)/python benchmarks/bench_agent_policy.py hits
	$(BIN)/python benchmarks/bench_agent_policy.py path --ring Z2 --rounds 40
	$(BIN)/python benchmarks/bench_agent_policy.py path --ring Z2 --rounds 40 --transvections 4
	$(BIN)/python benchmarks/bench_agent_policy.py imitate --updates 200
	$(BIN)/python benchmarks/bench_agent_policy.py imitate --updates 200 --augment

bench-campaigns: setup
	$(BIN)/python benchmarks/bench_campaigns.py --configs local,ray:1,ray:2 --time-limit 150

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
