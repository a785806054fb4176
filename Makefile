# Every command target is `k49 <target>` (bin/cli.ts), whose options each read
# a variable of the same name, e.g. `make train DATA=data/synth CONFIG=configs/smoke.json RESUME=1`:
# make passes variables given on its command line on to the command in the
# environment, so the command's own table (`make help`) is the only list of them.
SHELL := /bin/bash
K49 := node bin/k49.js
# Set-up is for a purpose (scripts/setup.sh): serving needs no fonts, training and notebooks do.
SERVE_COMMANDS := data evaluate read crops pseudo-label run serve worker feedback docs load
TRAIN_COMMANDS := synth eda train notebooks lab
# The benchmarks render a page (the fonts), drive a browser (Chromium) and may serve Redis (make soak STORE=redis).
BENCH_COMMANDS := bench soak
COMMANDS := $(SERVE_COMMANDS) $(TRAIN_COMMANDS) $(BENCH_COMMANDS)

.PHONY: help setup setup-train setup-bench test $(COMMANDS)

# Plain `make` lists the targets and their variables: the k49 command's own help.
help:
	@if [ -d node_modules/commander ]; then $(K49) --help; \
	else echo "Dependencies are not installed yet: run 'make setup' (or 'make run' / 'make test', which set up first), then 'make help' lists every target."; fi
	@echo
	@echo "make <command> runs 'k49 <command>'; 'make help-<command>' lists its variables (e.g. make help-train)."

help-%: setup
	@$(K49) $* --help

setup:
	bash scripts/setup.sh serve

setup-train:
	bash scripts/setup.sh train

setup-bench:
	bash scripts/setup.sh bench

test:
	bash scripts/test.sh

$(SERVE_COMMANDS): setup
	$(K49) $@

$(TRAIN_COMMANDS): setup-train
	$(K49) $@

$(BENCH_COMMANDS): setup-bench
	$(K49) $@
