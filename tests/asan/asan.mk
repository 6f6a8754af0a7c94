# asan.mk - the sanitizer build: every rcn source, bin/rcn and every unit test
# compiled with -fsanitize=address,undefined into build/asan/ (separate from
# the normal build, so both can coexist). Driven by tests/asan/run.sh
# (`make test-asan`); usable alone: make -f tests/asan/asan.mk -j2 all
#
# float-cast-overflow (not in gcc's "undefined" set) catches NaN/Inf or
# out-of-range floats converted to integers. UBSan is non-recoverable
# (-fno-sanitize-recover=all): any undefined
# behaviour aborts the program, so a test that triggers it fails.

CC          := mpicc
SANFLAGS    := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
# CFLAGS are the link flags too (mk/rules.mk links with them)
CFLAGS      := -O2 -g -march=x86-64-v3 $(SANFLAGS)
B           := build/asan
VERSION_TAG := asan
FLAGS_MK    := tests/asan/asan.mk
# sources, flags and rules: mk/rules.mk (shared with the release build)
include mk/rules.mk

.PHONY: all
all: $(RCN_BIN) $(UNIT_BIN)
