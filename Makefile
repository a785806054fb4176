# Every command target is `k49 <target>` (bin/cli.ts), whose options each read
# a variable of the same name, e.g. `make train DATA=data/synth CONFIG=configs/smoke.json RESUME=1`:
# make passes variables given on its command line on to the command in the
# environment, so the command's own table (`make help`) is the only list of them.
SHELL := /bin/bash
K49 := node bin/k49.js
COMMANDS := data synth eda train evaluate run serve worker feedback notebooks bench load soak

.PHONY: help setup test $(COMMANDS)

# Plain `make` lists the targets and their variables: the k49 command's own help.
help:
	@if [ -d node_modules/commander ]; then $(K49) --help; \
	else echo "Dependencies are not installed yet: run 'make setup' (or 'make run' / 'make test', which set up first), then 'make help' lists every target."; fi
	@echo
	@echo "make <command> runs 'k49 <command>'; 'make help-<command>' lists its variables (e.g. make help-train)."

help-%: setup
	@$(K49) $* --help

setup:
	bash scripts/setup.sh

test:
	bash scripts/test.sh

$(COMMANDS): setup
	$(K49) $@
