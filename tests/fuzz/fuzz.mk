# fuzz.mk - libFuzzer builds of the targets in tests/fuzz/ (clang 14,
# Debian clang + libclang-rt-14-dev): rcn's sources compiled with
# -fsanitize=fuzzer-no-link,address,undefined into build/fuzz/, each target
# linked with -fsanitize=fuzzer. Driven by tests/fuzz/run.sh (make fuzz,
# make fuzz-ci); usable alone: make -f tests/fuzz/fuzz.mk -j2 all
#
# The numeric kernels (src/nn/) are compiled plain (-O2, no sanitizers, no
# coverage): the targets fuzz the readers and validators, which are fully
# instrumented, and only fuzz_safetensors runs a forward pass to check a
# loaded model; clang with ASan and coverage on the AVX-512 kernels took
# minutes and gigabytes per file. The kernels are sanitized by make
# test-asan (gcc), on every test that exercises them.
#
# The targets call no MPI and link none: the library is built from every
# source but the commands (src/cli) and the distributed run (src/search),
# the only code that includes <mpi.h>.

FUZZ_CC     ?= clang
CC          := $(FUZZ_CC)
SAN         := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS      := -O1 -g -march=x86-64-v3 $(SAN)
INSTR       := -fsanitize=fuzzer-no-link
B           := build/fuzz
VERSION_TAG := fuzz
SRC_EXCLUDE := ! -path 'src/cli/*' ! -path 'src/search/*'
FLAGS_MK    := tests/fuzz/fuzz.mk
# sources, flags, the object and library rules: mk/rules.mk (shared with the
# release build); bin/rcn and the unit tests are not built here
include mk/rules.mk

TARGETS := $(patsubst tests/fuzz/%.c,$(B)/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))

.PHONY: all
all: $(TARGETS)

NN_OBJ := $(patsubst src/%.c,$(B)/obj/%.o,$(filter src/nn/%,$(SRC)))
$(NN_OBJ): CFLAGS := -O2 -g -march=x86-64-v3 $(RCN_CFLAGS)
$(NN_OBJ): INSTR :=

# Files that select their ISA with `#pragma GCC target("avx512f")` (which
# clang ignores) get it for the whole file, as the pragma does under gcc.
AVX512_SRC := $(shell grep -l 'pragma GCC target.*avx512' $(SRC) /dev/null)
$(AVX512_SRC:src/%.c=$(B)/obj/%.o): CFLAGS += -mavx512f -mavx512vl -mavx512bw -mavx512dq \
    -Wno-unknown-pragmas

$(B)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(B)/librcn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(B)/librcn.a $(LDLIBS)

-include $(TARGETS:=.d)

# a change of these flags rebuilds the targets too
$(TARGETS): $(B)/flags.stamp mk/rules.mk $(FLAGS_MK)
