# tests/fuzz.mk: the fuzz tests (one fragment per area, so parallel work does not collide in tests/local.mk).
#
# tests/fuzz/fuzz-<target>.c: one libFuzzer target per parser (tests/fuzz/targets.h lists them).
# - `make check` (any build, any compiler): tests/fuzz/check_fuzz_replay replays every file of
#   tests/fuzz/corpus/<target>/ (seeds and past crashes) through the same entry functions.
# - `make fuzz` (FUZZ_SECONDS per target, default 60): tests/fuzz/run.sh configures
#   build-fuzz/ with CC=clang --enable-fuzzing (unless this build is that one), builds the
#   tests/fuzz/fuzz_<target> programs there and runs each; any crash fails it.

MDP_FUZZ_NAMES = conf dbus_args definition domain iommu json pci_caps snapshot state sysfs uuid vms
MDP_FUZZ_COMMON = tests/fuzz/fuzz.h tests/fuzz/targets.h tests/fuzz/fuzz-util.c
MDP_FUZZ_TARGET_SOURCES = tests/fuzz/fuzz-conf.c tests/fuzz/fuzz-dbus-args.c tests/fuzz/fuzz-definition.c tests/fuzz/fuzz-domain.c tests/fuzz/fuzz-iommu.c tests/fuzz/fuzz-json.c tests/fuzz/fuzz-pci-caps.c tests/fuzz/fuzz-snapshot.c tests/fuzz/fuzz-state.c tests/fuzz/fuzz-sysfs.c tests/fuzz/fuzz-uuid.c tests/fuzz/fuzz-vms.c

check_PROGRAMS += tests/fuzz/check_fuzz_replay
tests_fuzz_check_fuzz_replay_SOURCES = tests/fuzz/check_fuzz_replay.c $(MDP_FUZZ_COMMON) $(MDP_FUZZ_TARGET_SOURCES)
tests_fuzz_check_fuzz_replay_CFLAGS = $(MDP_TEST_CFLAGS) -I$(top_srcdir)/daemon -I$(top_srcdir)/tests -I$(top_srcdir)/tests/fuzz
tests_fuzz_check_fuzz_replay_LDADD = $(top_builddir)/daemon/libmdevpasidd.la $(MDP_TEST_LIBS)
tests_fuzz_check_fuzz_replay_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/fuzz/check_fuzz_replay
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/run.sh tests/fuzz/README.md

MDP_FUZZ_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS) -I$(top_srcdir)/daemon -I$(top_srcdir)/tests/fuzz -DMDP_LIBFUZZER
MDP_FUZZ_LDADD = $(top_builddir)/daemon/libmdevpasidd.la $(MDP_LIB_LIBS)

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_conf
tests_fuzz_fuzz_conf_SOURCES = tests/fuzz/fuzz-conf.c $(MDP_FUZZ_COMMON)
tests_fuzz_fuzz_conf_CFLAGS = $(MDP_FUZZ_CFLAGS)
tests_fuzz_fuzz_conf_LDADD = $(MDP_FUZZ_LDADD)
tests_fuzz_fuzz_conf_LDFLAGS = -fsanitize=fuzzer
noinst_PROGRAMS += tests/fuzz/fuzz_dbus_args
tests_fuzz_fuzz_dbus_args_SOURCES = tests/fuzz/fuzz-dbus-args.c $(MDP_FUZZ_COMMON)
tests_fuzz_fuzz_dbus_args_CFLAGS = $(MDP_FUZZ_CFLAGS)
tests_fuzz_fuzz_dbus_args_LDADD = $(MDP_FUZZ_LDADD)
tests_fuzz_fuzz_dbus_args_LDFLAGS = -fsanitize=fuzzer
noinst_PROGRAMS += tests/fuzz/fuzz_definition
tests_fuzz_fuzz_definition_SOURCES = tests/fuzz/fuzz-definition.c $(MDP_FUZZ_COMMON)
tests_fuzz_fuzz_definition_CFLAGS = $(MDP_FUZZ_CFLAGS)
tests_fuzz_fuzz_definition_LDADD = $(MDP_FUZZ_LDADD)
tests_fuzz_fuzz_definition_LDFLAGS = -fsanitize=fuzzer
noinst_PROGRAMS += tests/fuzz/fuzz_domain
tests_fuzz_fuzz_domain_SOURCES = tests/fuzz/fuzz-domain.c $(MDP_FUZZ_COMMON)
tests_fuzz_fuzz_domain_CFLAGS = $(MDP_FUZZ_CFLAGS)
tests_fuzz_fuzz_domain_LDADD = $(MDP_FUZZ_LDADD)
tests_fuzz_fuzz_domain_LDFLAGS = -fsanitize=fuzzer
noinst_PROGRAMS += tests/fuzz/fuzz_iommu
tests_fuzz_fuzz_iommu_SOURCES = tests/fuzz/fuzz-iommu.c $(MDP_FUZZ_COMMON)
tests_fuzz_fuzz_iommu_CFLAGS = $(MDP_FUZZ_CFLAGS)
tests_fuzz_fuzz_iommu_LDADD = $(MDP_FUZZ_LDADD)
tests_fuzz_fuzz_iommu_LDFLAGS = -fsanitize=fuzzer
noinst_PROGRAMS += tests/fuzz/fuzz_json
tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz-json.c $(MDP_FUZZ_COMMON)
tests_fuzz_fuzz_json_CFLAGS = $(MDP_FUZZ_CFLAGS)
tests_fuzz_fuzz_json_LDADD = $(MDP_FUZZ_LDADD)
tests_fuzz_fuzz_json_LDFLAGS = -fsanitize=fuzzer
noinst_PROGRAMS += tests/fuzz/fuzz_pci_caps
tests_fuzz_fuzz_pci_caps_SOURCES = tests/fuzz/fuzz-pci-caps.c $(MDP_FUZZ_COMMON)
tests_fuzz_fuzz_pci_caps_CFLAGS = $(MDP_FUZZ_CFLAGS)
tests_fuzz_fuzz_pci_caps_LDADD = $(MDP_FUZZ_LDADD)
tests_fuzz_fuzz_pci_caps_LDFLAGS = -fsanitize=fuzzer
noinst_PROGRAMS += tests/fuzz/fuzz_vms
tests_fuzz_fuzz_vms_SOURCES = tests/fuzz/fuzz-vms.c $(MDP_FUZZ_COMMON)
tests_fuzz_fuzz_vms_CFLAGS = $(MDP_FUZZ_CFLAGS)
tests_fuzz_fuzz_vms_LDADD = $(MDP_FUZZ_LDADD)
tests_fuzz_fuzz_vms_LDFLAGS = -fsanitize=fuzzer
noinst_PROGRAMS += tests/fuzz/fuzz_snapshot
tests_fuzz_fuzz_snapshot_SOURCES = tests/fuzz/fuzz-snapshot.c $(MDP_FUZZ_COMMON)
tests_fuzz_fuzz_snapshot_CFLAGS = $(MDP_FUZZ_CFLAGS)
tests_fuzz_fuzz_snapshot_LDADD = $(MDP_FUZZ_LDADD)
tests_fuzz_fuzz_snapshot_LDFLAGS = -fsanitize=fuzzer
noinst_PROGRAMS += tests/fuzz/fuzz_state
tests_fuzz_fuzz_state_SOURCES = tests/fuzz/fuzz-state.c $(MDP_FUZZ_COMMON)
tests_fuzz_fuzz_state_CFLAGS = $(MDP_FUZZ_CFLAGS)
tests_fuzz_fuzz_state_LDADD = $(MDP_FUZZ_LDADD)
tests_fuzz_fuzz_state_LDFLAGS = -fsanitize=fuzzer
noinst_PROGRAMS += tests/fuzz/fuzz_sysfs
tests_fuzz_fuzz_sysfs_SOURCES = tests/fuzz/fuzz-sysfs.c $(MDP_FUZZ_COMMON)
tests_fuzz_fuzz_sysfs_CFLAGS = $(MDP_FUZZ_CFLAGS)
tests_fuzz_fuzz_sysfs_LDADD = $(MDP_FUZZ_LDADD)
tests_fuzz_fuzz_sysfs_LDFLAGS = -fsanitize=fuzzer
noinst_PROGRAMS += tests/fuzz/fuzz_uuid
tests_fuzz_fuzz_uuid_SOURCES = tests/fuzz/fuzz-uuid.c $(MDP_FUZZ_COMMON)
tests_fuzz_fuzz_uuid_CFLAGS = $(MDP_FUZZ_CFLAGS)
tests_fuzz_fuzz_uuid_LDADD = $(MDP_FUZZ_LDADD)
tests_fuzz_fuzz_uuid_LDFLAGS = -fsanitize=fuzzer
# This build is the fuzzing one: run.sh uses it instead of configuring build-fuzz/.
MDP_FUZZ_RUN_ENV = MDP_FUZZ_BUILD='$(abs_top_builddir)'
MDP_FUZZ_BINS = tests/fuzz/fuzz_conf tests/fuzz/fuzz_dbus_args tests/fuzz/fuzz_definition tests/fuzz/fuzz_domain tests/fuzz/fuzz_iommu tests/fuzz/fuzz_json tests/fuzz/fuzz_pci_caps tests/fuzz/fuzz_state tests/fuzz/fuzz_sysfs tests/fuzz/fuzz_uuid
endif

fuzz-programs: $(MDP_FUZZ_BINS)
fuzz:
	$(MDP_FUZZ_RUN_ENV) $(SHELL) $(top_srcdir)/tests/fuzz/run.sh $(FUZZ_SECONDS)
.PHONY: fuzz fuzz-programs

# Storage faults: a full or read-only /etc and /var/lib while definitions and the state file
# are written (issue 10); private mount namespaces, so root only (SKIP otherwise).
check_PROGRAMS += tests/check_faults
tests_check_faults_SOURCES = tests/check_faults.c
tests_check_faults_CFLAGS = $(MDP_TEST_CFLAGS) $(MDP_HARNESS_CFLAGS)
tests_check_faults_LDADD = $(MDP_HARNESS_LIBS) $(MDP_TEST_LIBS)
tests_check_faults_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_faults
