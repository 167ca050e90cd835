# tests/cli.mk: the cli tests (one fragment per area, so parallel work does not collide in tests/local.mk).
EXTRA_DIST += tests/sim-daemon.sh
# mdevpasidctl against the real daemon on a private bus over the simulated host.
TESTS += tests/cli-daemon.sh
EXTRA_DIST += tests/cli-daemon.sh
# lib/client: error sentences, the daemon's state without a bus.
check_PROGRAMS += tests/check_client
tests_check_client_SOURCES = tests/check_client.c
tests_check_client_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_client_LDADD = $(MDP_TEST_LIBS)
tests_check_client_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_client
# plan --domain / attach --domain through the daemon ("DomainXml").
TESTS += tests/cli-domain-daemon.sh
EXTRA_DIST += tests/cli-domain-daemon.sh
# pasid alloc/list/free and attach/detach: the real mdevpasidctl against the daemon on a faked
# PASID-granular parent (tests/check_cli_pasid.c says what is faked).
check_PROGRAMS += tests/check_cli_pasid
tests_check_cli_pasid_SOURCES = tests/check_cli_pasid.c
tests_check_cli_pasid_CFLAGS = $(MDP_TEST_CFLAGS) $(MDP_HARNESS_CFLAGS) $(JSONC_CFLAGS)
tests_check_cli_pasid_LDADD = $(MDP_HARNESS_LIBS) $(MDP_TEST_LIBS) $(JSONC_LIBS)
tests_check_cli_pasid_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_cli_pasid
