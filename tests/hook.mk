# tests/hook.mk: the hook tests (one fragment per area, so parallel work does not collide in tests/local.mk).
# The hook run as libvirt runs it, against the daemon on a private bus over the simulated host.
check_PROGRAMS += tests/check_hook
tests_check_hook_SOURCES = tests/check_hook.c
tests_check_hook_CFLAGS = $(MDP_TEST_CFLAGS) $(MDP_HARNESS_CFLAGS)
tests_check_hook_LDADD = $(MDP_HARNESS_LIBS) $(MDP_TEST_LIBS)
tests_check_hook_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_hook
EXTRA_DIST += tests/fixtures/hook
# make install puts the binary in $(pkglibexecdir) and the qemu.d link next to libvirt's hooks.
TESTS += tests/hook-install.sh
EXTRA_DIST += tests/hook-install.sh
# Man pages render without warnings and match --help and the D-Bus contract; bash completion.
TESTS += tests/docs-man.sh tests/completion.sh
EXTRA_DIST += tests/docs-man.sh tests/completion.sh
