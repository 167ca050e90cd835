# tests/authz.mk: the authz tests (one fragment per area, so parallel work does not collide in tests/local.mk).

# polkit's stand-in on the private bus (yes/no per action from its environment).
check_PROGRAMS += tests/authz-polkit-stub
tests_authz_polkit_stub_SOURCES = tests/authz-polkit-stub.c
tests_authz_polkit_stub_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
tests_authz_polkit_stub_LDADD = $(SYSTEMD_LIBS)
tests_authz_polkit_stub_LDFLAGS = -no-install

# Who may call the daemon (the real bus policy, an unprivileged caller, the polkit stub),
# and what hostile arguments can touch (the testbed before and after).
check_PROGRAMS += tests/check_authz
tests_check_authz_SOURCES = tests/check_authz.c
tests_check_authz_CFLAGS = $(MDP_TEST_CFLAGS) $(MDP_HARNESS_CFLAGS) -I$(top_srcdir)/daemon
tests_check_authz_LDADD = $(top_builddir)/daemon/libmdevpasidd.la $(MDP_HARNESS_LIBS) $(MDP_TEST_LIBS)
tests_check_authz_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_authz

# The service unit's hardening score (systemd-analyze security --offline=yes).
TESTS += tests/authz-unit.sh
EXTRA_DIST += tests/authz-unit.sh
EXTRA_DIST += tests/valgrind.supp
