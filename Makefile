# Every target is a thin wrapper over the `k49` command (bin/cli.ts), so
# `make X` and `npx k49 X` agree. Variables: DATA=, MODEL=, OUT=, CONFIG=.
SHELL := /bin/bash
K49 := node bin/k49.js
MODEL ?=

opt = $(if $(2),--$(1) $(2))
ARGS = $(call opt,data,$(DATA)) $(call opt,out,$(OUT)) $(call opt,config,$(CONFIG))

.PHONY: help setup run serve worker test data synth eda train evaluate feedback notebooks bench soak

# Plain `make` lists the targets: the k49 command's own help, so the two never disagree.
help:
	@if [ -d node_modules/commander ]; then $(K49) --help; \
	else echo "Dependencies are not installed yet: run 'make setup' (or 'make run' / 'make test', which set up first), then 'make help' lists every target."; fi
	@echo
	@echo "make <command> runs 'k49 <command>'; variables: DATA=dir MODEL=dir OUT=dir CONFIG=file (e.g. make evaluate DATA=../shared/data/real-sample MODEL=artifacts/latest)"

setup:
	bash scripts/setup.sh

test:
	bash scripts/test.sh

data: setup
	$(K49) data $(call opt,data,$(DATA))

synth: setup
	$(K49) synth $(call opt,out,$(OUT)) $(call opt,config,$(CONFIG))

eda: setup
	$(K49) eda $(call opt,data,$(DATA)) $(call opt,out,$(OUT))

train: setup
	$(K49) train $(ARGS)

evaluate: setup
	$(K49) evaluate $(call opt,data,$(DATA)) $(call opt,model,$(MODEL)) $(call opt,out,$(OUT))

run: setup
	$(K49) run $(call opt,model,$(MODEL))

serve: setup
	$(K49) serve $(call opt,model,$(MODEL))

worker: setup
	$(K49) worker $(call opt,model,$(MODEL))

feedback: setup
	$(K49) feedback $(call opt,out,$(OUT))

notebooks: setup
	$(K49) notebooks

bench: setup
	$(K49) bench $(call opt,out,$(OUT))

soak: setup
	$(K49) soak $(call opt,out,$(OUT)) $(call opt,seconds,$(SECONDS))
