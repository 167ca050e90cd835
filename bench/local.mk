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

# bench/host-scan: times the host model on $MDEVPASID_ROOT; "make bench-host-scan" runs it
# on a generated 10,000-mdev tree (kept in /tmp between runs).
check_PROGRAMS += bench/host-scan
bench_host_scan_SOURCES = bench/host-scan.c
bench_host_scan_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS)
bench_host_scan_LDADD = $(MDP_LIB_LIBS)
bench_host_scan_LDFLAGS = -no-install

MDP_BENCH_TREE = /tmp/mdp-bench-10k
bench: bench-host-scan
bench-host-scan: bench/host-scan$(EXEEXT)
	@[ -e $(MDP_BENCH_TREE)/stamp ] || { python3 $(top_srcdir)/tests/tools/gen-fake-sysfs.py $(MDP_BENCH_TREE) \
		--layout sriov --active 10000 --parents 1000 --types-per-vf 4 --kernel-like >/dev/null && \
		touch $(MDP_BENCH_TREE)/stamp; }
	for p in all mdevs parents groups; do MDEVPASID_ROOT=$(MDP_BENCH_TREE) ./bench/host-scan $$p 5; done
.PHONY: bench-host-scan

# bench/pasid: the PASID allocator at 100,000 live allocations in a 20-bit space.
check_PROGRAMS += bench/pasid
bench_pasid_SOURCES = bench/pasid.c
bench_pasid_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS)
bench_pasid_LDADD = $(MDP_LIB_LIBS)
bench_pasid_LDFLAGS = -no-install
bench: bench-pasid
bench-pasid: bench/pasid$(EXEEXT)
	./bench/pasid 100000 1000000
.PHONY: bench-pasid
