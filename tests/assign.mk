# tests/assign.mk: the assign tests (one fragment per area, so parallel work does not collide in tests/local.mk).

# A plan on the bus (lib/plan-bus.c): round trip through a real sd-bus message.
check_PROGRAMS += tests/check_plan_bus
tests_check_plan_bus_SOURCES = tests/check_plan_bus.c tests/engine-test.h tests/engine-test.c
tests_check_plan_bus_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_plan_bus_LDADD = $(MDP_TEST_LIBS)
tests_check_plan_bus_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_plan_bus

# The PASID allocator (lib/pasid.c): bounds, exhaustion, quotas, double free, restore,
# random sequences against a reference model.
check_PROGRAMS += tests/check_pasid
tests_check_pasid_SOURCES = tests/check_pasid.c
tests_check_pasid_CFLAGS = $(MDP_TEST_CFLAGS)
tests_check_pasid_LDADD = $(MDP_TEST_LIBS)
tests_check_pasid_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_pasid

# mdevpasidd's VM assignment and PASIDs on a private bus over the simulated host.
check_PROGRAMS += tests/check_assign
tests_check_assign_SOURCES = tests/check_assign.c
tests_check_assign_CFLAGS = $(MDP_TEST_CFLAGS) $(MDP_HARNESS_CFLAGS)
tests_check_assign_LDADD = $(MDP_HARNESS_LIBS) $(MDP_TEST_LIBS)
tests_check_assign_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_assign
