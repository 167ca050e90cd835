# tests/: Check programs run through tests/run-test.sh.
# make check-vm (the real kernel under QEMU) lives in tests/vm/.
include $(srcdir)/tests/vm/local.mk
# The simulated host (mdp-kernel-sim) and its write shim live in tests/sim/.
include $(srcdir)/tests/sim/local.mk
include $(srcdir)/tests/plan.mk
include $(srcdir)/tests/daemon.mk
include $(srcdir)/tests/assign.mk
include $(srcdir)/tests/cli.mk
include $(srcdir)/tests/hook.mk
include $(srcdir)/tests/fuzz.mk
include $(srcdir)/tests/authz.mk
include $(srcdir)/tests/dlopen.mk
TEST_EXTENSIONS = .sh
LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/run-test.sh
SH_LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/run-test.sh
AM_TESTS_ENVIRONMENT = export top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
	ASAN_LIB='$(ASAN_LIB)' DBUS_DAEMON='$(DBUS_DAEMON)' MDEVCTL='$(MDEVCTL)' \
	MDEVPASID_DATADIR='$(abs_top_srcdir)/conf' MDP_VALGRIND='$(MDP_VALGRIND)'; unset MDEVPASID_ROOT;

# Shared helpers for tests (fixture unpacking, temp dirs).
check_LTLIBRARIES += tests/libtesthelp.la
tests_libtesthelp_la_SOURCES = tests/test-help.h tests/test-help.c
tests_libtesthelp_la_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS) $(CHECK_CFLAGS) \
	-DTOP_SRCDIR=\"$(abs_top_srcdir)\"

MDP_TEST_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS) $(CHECK_CFLAGS) -DTOP_SRCDIR=\"$(abs_top_srcdir)\"
MDP_TEST_LIBS = $(top_builddir)/tests/libtesthelp.la $(MDP_LIB_LIBS) $(CHECK_LIBS)
MDP_TEST_LINK = -no-install

check_PROGRAMS += tests/check_util
tests_check_util_SOURCES = tests/check_util.c
tests_check_util_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_util_LDADD = $(MDP_TEST_LIBS)
tests_check_util_LDFLAGS = $(MDP_TEST_LINK)

TESTS += tests/check_util

check_PROGRAMS += tests/check_host
tests_check_host_SOURCES = tests/check_host.c
tests_check_host_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_host_LDADD = $(MDP_TEST_LIBS)
tests_check_host_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_host

check_PROGRAMS += tests/check_host_hw
tests_check_host_hw_SOURCES = tests/check_host_hw.c
tests_check_host_hw_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_host_hw_LDADD = $(MDP_TEST_LIBS)
tests_check_host_hw_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_host_hw

check_PROGRAMS += tests/check_host_scale
tests_check_host_scale_SOURCES = tests/check_host_scale.c
tests_check_host_scale_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_host_scale_LDADD = $(MDP_TEST_LIBS)
tests_check_host_scale_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_host_scale

check_PROGRAMS += tests/check_decode
tests_check_decode_SOURCES = tests/check_decode.c
tests_check_decode_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_decode_LDADD = $(MDP_TEST_LIBS)
tests_check_decode_LDFLAGS = $(MDP_TEST_LINK)

TESTS += tests/check_decode

check_PROGRAMS += tests/check_backend
tests_check_backend_SOURCES = tests/check_backend.c
tests_check_backend_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_backend_LDADD = $(MDP_TEST_LIBS)
tests_check_backend_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_backend

EXTRA_DIST += tests/run-test.sh tests/fixtures tests/tools
check-valgrind:
	$(MAKE) $(AM_MAKEFLAGS) check MDP_VALGRIND=1
.PHONY: check-valgrind

check_PROGRAMS += tests/check_definition
tests_check_definition_SOURCES = tests/check_definition.c
tests_check_definition_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_definition_LDADD = $(MDP_TEST_LIBS)
tests_check_definition_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_definition

check_PROGRAMS += tests/check_engine
tests_check_engine_SOURCES = tests/check_engine.c tests/engine-test.h tests/engine-test.c
tests_check_engine_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_engine_LDADD = $(MDP_TEST_LIBS)
tests_check_engine_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_engine

check_PROGRAMS += tests/check_profile
tests_check_profile_SOURCES = tests/check_profile.c
tests_check_profile_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_profile_LDADD = $(MDP_TEST_LIBS)
tests_check_profile_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_profile

check_PROGRAMS += tests/check_domain
tests_check_domain_SOURCES = tests/check_domain.c
tests_check_domain_CFLAGS = $(MDP_TEST_CFLAGS) $(MDP_VIRT_CFLAGS)
tests_check_domain_LDADD = $(MDP_VIRT_LIBS) $(MDP_TEST_LIBS)
tests_check_domain_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_domain

check_PROGRAMS += tests/check_engine_seed
tests_check_engine_seed_SOURCES = tests/check_engine_seed.c tests/engine-test.h tests/engine-test.c
tests_check_engine_seed_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_engine_seed_LDADD = $(MDP_TEST_LIBS)
tests_check_engine_seed_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_engine_seed

check_PROGRAMS += tests/check_engine_render
tests_check_engine_render_SOURCES = tests/check_engine_render.c tests/engine-test.h tests/engine-test.c
tests_check_engine_render_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_engine_render_LDADD = $(MDP_TEST_LIBS)
tests_check_engine_render_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_engine_render
EXTRA_DIST += tests/golden/engine-plan-shadow.json tests/golden/engine-plan-shadow.txt \
	tests/golden/engine-plan-refused.json tests/golden/engine-plan-refused.txt

check_PROGRAMS += tests/check_policy
tests_check_policy_SOURCES = tests/check_policy.c
tests_check_policy_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_policy_LDADD = $(MDP_TEST_LIBS)
tests_check_policy_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_policy

check_PROGRAMS += tests/check_plan_input
tests_check_plan_input_SOURCES = tests/check_plan_input.c
tests_check_plan_input_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_plan_input_LDADD = $(MDP_TEST_LIBS)
tests_check_plan_input_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_plan_input

# mdevpasidctl: golden output, usage and exit codes, mdevctl compatibility (shell tests).
TESTS += tests/cli-golden.sh tests/cli-usage.sh tests/cli-mdevctl-compat.sh
EXTRA_DIST += tests/demo.sh tests/cli-lib.sh tests/cli-golden.sh tests/cli-usage.sh tests/cli-mdevctl-compat.sh tests/golden tests/tools

# The daemon's pure parts (state file, error map, holders, uevent classification).
check_PROGRAMS += tests/check_daemon_unit
tests_check_daemon_unit_SOURCES = tests/check_daemon_unit.c
tests_check_daemon_unit_CFLAGS = $(MDP_TEST_CFLAGS) -I$(top_srcdir)/daemon
tests_check_daemon_unit_LDADD = $(top_builddir)/daemon/libmdevpasidd.la $(MDP_TEST_LIBS)
tests_check_daemon_unit_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_daemon_unit
