# asan.mk - the sanitizer build: every rcn source, bin/rcn and every unit test
# compiled with -fsanitize=address,undefined into build/asan/ (separate from
# the normal build, so both can coexist). Driven by tests/asan/run.sh
# (`make test-asan`); usable alone: make -f tests/asan/asan.mk -j2 all
#
# float-cast-overflow (not in gcc's "undefined" set) catches NaN/Inf or
# out-of-range floats converted to integers. UBSan is non-recoverable
# (-fno-sanitize-recover=all): any undefined
# behaviour aborts the program, so a test that triggers it fails.

CC        := mpicc
SANFLAGS  := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all \
             -fno-omit-frame-pointer
CFLAGS    := -O2 -g -march=x86-64-v3 $(SANFLAGS) -std=c11 -Wall -Wextra -D_GNU_SOURCE -Iinclude -MMD -MP \
             -DRCN_VERSION=\"0.1.0-asan\" -DRCN_GIT_REV=\"asan\"
LDFLAGS   := $(SANFLAGS)
LDLIBS    := -lopenblas -ljansson -lz -lm
B         := build/asan

SRC      := $(shell find src -name '*.c' ! -path src/main.c | sort)
OBJ      := $(SRC:src/%.c=$(B)/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all
all: $(B)/bin/rcn $(UNIT_BIN)

$(B)/bin/rcn: $(B)/obj/main.o $(B)/librcn.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(B)/obj/main.o -Wl,--whole-archive $(B)/librcn.a \
	    -Wl,--no-whole-archive $(LDLIBS)

$(B)/librcn.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/tests/%: tests/unit/%.c tests/unit/check.h $(B)/librcn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/librcn.a $(LDLIBS)

-include $(OBJ:.o=.d) $(B)/obj/main.d $(UNIT_BIN:=.d)

# a change of these flags rebuilds everything
$(OBJ) $(B)/obj/main.o $(UNIT_BIN): tests/asan/asan.mk
