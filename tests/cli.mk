# tests/cli.mk: the cli tests (one fragment per area, so parallel work does not collide in tests/local.mk).
EXTRA_DIST += tests/sim-daemon.sh
# mdevpasidctl against the real daemon on a private bus over the simulated host.
TESTS += tests/cli-daemon.sh
EXTRA_DIST += tests/cli-daemon.sh
