# tests/plan.mk: the plan tests (one fragment per area, so parallel work does not collide in tests/local.mk).

# mdevpasidctl plan end to end: golden text/JSON on the real-kernel captures for every
# --viommu mode, --domain through libvirt's test driver, errors and exit codes.
TESTS += tests/cli-plan.sh
EXTRA_DIST += tests/cli-plan.sh
