# tests/cli.mk: the cli tests (one fragment per area, so parallel work does not collide in tests/local.mk).
EXTRA_DIST += tests/sim-daemon.sh
