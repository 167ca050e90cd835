# tests/daemon.mk: the daemon tests (one fragment per area, so parallel work does not collide in tests/local.mk).

# mdevpasidd spawned on a private bus against the simulated host (issue 4, issue 10).
check_PROGRAMS += tests/check_daemon
tests_check_daemon_SOURCES = tests/check_daemon.c
tests_check_daemon_CFLAGS = $(MDP_TEST_CFLAGS) $(MDP_HARNESS_CFLAGS) $(LIBXML_CFLAGS) $(JSONC_CFLAGS)
tests_check_daemon_LDADD = $(MDP_HARNESS_LIBS) $(MDP_TEST_LIBS) $(LIBXML_LIBS) $(JSONC_LIBS)
tests_check_daemon_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_daemon

# SR-IOV VF links changing on a PF: Parent SriovNumVfs/Vfs/Physfn and Describe follow (issue 4).
check_PROGRAMS += tests/check_daemon_sriov
tests_check_daemon_sriov_SOURCES = tests/check_daemon_sriov.c
tests_check_daemon_sriov_CFLAGS = $(MDP_TEST_CFLAGS) $(MDP_HARNESS_CFLAGS) $(JSONC_CFLAGS)
tests_check_daemon_sriov_LDADD = $(MDP_HARNESS_LIBS) $(MDP_TEST_LIBS) $(JSONC_LIBS)
tests_check_daemon_sriov_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_daemon_sriov
