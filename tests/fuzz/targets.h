/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every fuzz target; a new one is added here, in tests/fuzz.mk (MDP_FUZZ_TARGETS) and
 * gets a corpus folder tests/fuzz/corpus/<name>/. */

#include "fuzz.h"

#define MDP_FUZZ_TARGETS(X)                                                                                 \
        X(conf)                                                                                             \
        X(dbus_args)                                                                                        \
        X(definition)                                                                                       \
        X(domain)                                                                                           \
        X(iommu)                                                                                            \
        X(json)                                                                                             \
        X(pci_caps)                                                                                         \
        X(snapshot)                                                                                         \
        X(state)                                                                                            \
        X(sysfs)                                                                                            \
        X(uuid)                                                                                             \
        X(vms)

#define MDP_FUZZ_DECLARE(name) int mdp_fuzz_##name(const uint8_t *data, size_t size);
MDP_FUZZ_TARGETS(MDP_FUZZ_DECLARE)
