/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PCI extended capability walk over a config-space image (lib/pci-caps.c, IOMMU-SPEC.md
 * §3): the input is what reading a device's sysfs "config" returned, of any length. */
#include <string.h>

#include "fuzz.h"
#include "pci-caps.h"

#define TRISTATE_OK(t) ((t) == MDP_UNKNOWN || (t) == MDP_NO || (t) == MDP_YES)

FUZZ_TARGET(pci_caps)
{
        struct mdp_pci_caps caps;
        /* A heap copy of exactly size bytes, so ASan sees any read past what sysfs returned. */
        uint8_t *config = malloc(size ? size : 1);

        if (!config)
                abort();
        if (size)
                memcpy(config, data, size);
        memset(&caps, 0xa5, sizeof(caps));
        mdp_pci_caps_parse(config, size, &caps);
        free(config);
        /* Every field set, to one of the three values; the 5-bit width field (§3.3). */
        FUZZ_ASSERT(TRISTATE_OK(caps.extended_space) && TRISTATE_OK(caps.pasid) &&
                    TRISTATE_OK(caps.pasid_exec) && TRISTATE_OK(caps.pasid_priv) &&
                    TRISTATE_OK(caps.pasid_enabled) && TRISTATE_OK(caps.ats) &&
                    TRISTATE_OK(caps.ats_enabled) && TRISTATE_OK(caps.pri) &&
                    TRISTATE_OK(caps.pri_enabled) && TRISTATE_OK(caps.sriov) &&
                    TRISTATE_OK(caps.siov_dvsec));
        FUZZ_ASSERT(caps.pasid_width <= 31);
        return 0;
}
