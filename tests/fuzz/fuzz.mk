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

FUZZ_CC  ?= clang
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
BASE     := -g -march=x86-64-v3 -std=c11 -Wall -Wextra -D_GNU_SOURCE -Iinclude -MMD -MP \
            -DRCN_VERSION=\"0.1.0-fuzz\" -DRCN_GIT_REV=\"fuzz\"
CFLAGS   := -O1 $(BASE) $(SAN)
INSTR    := -fsanitize=fuzzer-no-link
LDLIBS   := -lopenblas -ljansson -lz -lm
B        := build/fuzz

SRC     := $(shell find src -name '*.c' ! -path src/main.c ! -path 'src/cli/*' ! -path 'src/search/*' | sort)
OBJ     := $(SRC:src/%.c=$(B)/obj/%.o)
TARGETS := $(patsubst tests/fuzz/%.c,$(B)/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))

.PHONY: all
all: $(TARGETS)

$(B)/librcn.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

NN_OBJ := $(patsubst src/%.c,$(B)/obj/%.o,$(filter src/nn/%,$(SRC)))
$(NN_OBJ): CFLAGS := -O2 $(BASE)
$(NN_OBJ): INSTR :=

# Files that select their ISA with `#pragma GCC target("avx512f")` (which
# clang ignores) get it for the whole file, as the pragma does under gcc.
AVX512_SRC := $(shell grep -l 'pragma GCC target.*avx512' $(SRC) /dev/null)
$(AVX512_SRC:src/%.c=$(B)/obj/%.o): CFLAGS += -mavx512f -mavx512vl -mavx512bw -mavx512dq \
    -Wno-unknown-pragmas

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS) $(INSTR) -c -o $@ $<

$(B)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(B)/librcn.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(B)/librcn.a $(LDLIBS)

-include $(OBJ:.o=.d) $(TARGETS:=.d)

# a change of these flags rebuilds everything
$(OBJ) $(TARGETS): tests/fuzz/fuzz.mk
