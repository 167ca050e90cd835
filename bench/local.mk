# bench: fragment included by the top-level Makefile.am.
# Benchmarks are programs, not tests: they measure and never fail on a number. "make check"
# builds them so they keep compiling; "make bench" runs them. Add yours as a bench-<name>
# target and list it as a prerequisite of bench.

check_PROGRAMS += bench/engine
bench_engine_SOURCES = bench/engine.c
bench_engine_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS)
bench_engine_LDADD = $(MDP_LIB_LIBS) $(JSONC_LIBS)
bench_engine_LDFLAGS = -no-install

bench: bench-engine
bench-engine: bench/engine$(EXEEXT)
	./bench/engine --json bench/engine.json

.PHONY: bench bench-engine
CLEANFILES += bench/engine.json
