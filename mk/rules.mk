# rules.mk - the flags, source lists and rules shared by rcn's three builds:
# the release build (Makefile: bin/rcn, build/), the sanitizer build
# (tests/asan/asan.mk: build/asan/) and the libFuzzer build
# (tests/fuzz/fuzz.mk: build/fuzz/). Included, not run.
#
# The including file sets, before the include:
#   CC           the compiler (mpicc; clang for fuzzing)
#   CFLAGS       its optimisation, ISA, sanitizer and NDEBUG flags; the
#                language, warning, include and version flags are added here
#   B            the build directory: objects in $(B)/obj, $(B)/librcn.a,
#                unit tests in $(B)/tests
#   RCN_BIN      the rcn binary (default $(B)/bin/rcn)
#   VERSION_TAG  appended to the version and used as the git revision
#                ("asan" -> 0.1.0-asan, rev asan); empty: the git revision
#   SRC_EXCLUDE  find(1) tests leaving sources out (the fuzz build drops
#                the MPI code: src/cli and src/search)
#   INSTR        extra compile flags of instrumented objects (may be cleared
#                per object); LDFLAGS  extra link flags of bin/rcn
#   FLAGS_MK     files whose change rebuilds every object (optional; a
#                change of CC, CFLAGS, INSTR or LDFLAGS always does, through
#                $(B)/flags.stamp, and so does a change of this file)

VERSION := 0.1.0
ifeq ($(VERSION_TAG),)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
RCN_VERSION_STR := $(VERSION)
else
GIT_REV := $(VERSION_TAG)
RCN_VERSION_STR := $(VERSION)-$(VERSION_TAG)
endif

BUILD_FLAGS := $(CC) $(CFLAGS) $(INSTR) $(LDFLAGS)
RCN_CFLAGS := -std=c11 -Wall -Wextra -D_GNU_SOURCE -Iinclude -MMD -MP \
              -DRCN_VERSION=\"$(RCN_VERSION_STR)\" -DRCN_GIT_REV=\"$(GIT_REV)\"
CFLAGS  += $(RCN_CFLAGS)
LDLIBS  := -lopenblas -ljansson -lz -lm
RCN_BIN ?= $(B)/bin/rcn

SRC      := $(shell find src -name '*.c' ! -path src/main.c $(SRC_EXCLUDE) | sort)
OBJ      := $(SRC:src/%.c=$(B)/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.DEFAULT_GOAL := all

$(RCN_BIN): $(B)/obj/main.o $(B)/librcn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(B)/obj/main.o -Wl,--whole-archive $(B)/librcn.a \
	    -Wl,--no-whole-archive $(LDLIBS)

$(B)/librcn.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INSTR) -c -o $@ $<

$(B)/tests/%: tests/unit/%.c tests/unit/check.h $(B)/librcn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/librcn.a $(LDLIBS)

# The stamp is rewritten only when the build's own flags change (not the
# version defines: those are per commit, see the Makefile's gitrev.stamp).
$(OBJ) $(B)/obj/main.o $(UNIT_BIN): $(B)/flags.stamp mk/rules.mk $(FLAGS_MK)
$(B)/flags.stamp: FORCE
	@mkdir -p $(B)
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@
.PHONY: FORCE
FORCE:

-include $(OBJ:.o=.d) $(B)/obj/main.d $(UNIT_BIN:=.d)
