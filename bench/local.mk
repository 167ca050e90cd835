# bench: fragment included by the top-level Makefile.am.
# Benchmarks are programs, not tests: they measure and never fail on a number. "make check"
# builds them so they keep compiling; "make bench" runs them. Add yours as a bench-<name>
# target and list it as a prerequisite of bench.

check_PROGRAMS += bench/engine
bench_engine_SOURCES = bench/engine.c
bench_engine_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS)
bench_engine_LDADD = $(MDP_LIB_LIBS) $(JSONC_LIBS)
bench_engine_LDFLAGS = -no-install

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
bench-pasid: bench/pasid$(EXEEXT)
	./bench/pasid 100000 1000000
.PHONY: bench-pasid

# bench/run.sh (issue 9): the CLI against mdevctl, the daemon's start, D-Bus and event
# latency, autostart; "make bench" runs it (MDP_BENCH_SIZES, MDP_BENCH_RUNS: see bench/README.md).
check_PROGRAMS += bench/cmdtime
bench_cmdtime_SOURCES = bench/cmdtime.c bench/stats.h
bench_cmdtime_LDFLAGS = -no-install
check_PROGRAMS += bench/daemon
bench_daemon_SOURCES = bench/daemon.c bench/stats.h
bench_daemon_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS) $(SYSTEMD_CFLAGS)
bench_daemon_LDADD = $(SYSTEMD_LIBS)
bench_daemon_LDFLAGS = -no-install
check_PROGRAMS += bench/events
bench_events_SOURCES = bench/events.c bench/stats.h
bench_events_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS) $(MDP_HARNESS_CFLAGS) $(CHECK_CFLAGS)
bench_events_LDADD = $(MDP_HARNESS_LIBS) $(CHECK_LIBS)
bench_events_LDFLAGS = -no-install

# The engine and bench/pasid run inside bench-run (their figures go to the same JSON).
bench: bench-run
bench-run: bench/cmdtime$(EXEEXT) bench/daemon$(EXEEXT) bench/events$(EXEEXT) bench/engine$(EXEEXT) bench/pasid$(EXEEXT) \
		cli/mdevpasidctl$(EXEEXT) daemon/mdevpasidd$(EXEEXT) tests/sim/mdp-kernel-sim$(EXEEXT) \
		tests/sim/libmdpsimshim.la
	top_srcdir='$(abs_top_srcdir)' MDEVPASID_DATADIR='$(abs_top_srcdir)/conf' $(SHELL) $(top_srcdir)/bench/run.sh
.PHONY: bench-run
CLEANFILES += bench/results.json
EXTRA_DIST += bench/run.sh bench/README.md
