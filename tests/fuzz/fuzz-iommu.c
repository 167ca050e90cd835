/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VT-d / AMD / SMMUv3 register decoders (lib/iommu-decode.c, IOMMU-SPEC.md §2.2-§2.4).
 * Input: a fixed block of register values (family, flags, cap, ecap, version, AMD cap, EFR,
 * EFR2, SMMU IDR0-5), then text lines: the kernel command line, amd-iommu/features and a
 * kernel release (the text the host model reads from sysfs and /proc). */
#include <string.h>

#include "fuzz.h"
#include "iommu-decode.h"

struct raw {
        uint8_t family, flags, vtd_major, vtd_minor;
        uint32_t amd_cap;
        uint64_t vtd_cap, vtd_ecap, amd_efr, amd_efr2;
        uint32_t smmu_idr[6];
} __attribute__((packed));

#define TRISTATE_OK(t) ((t) == MDP_UNKNOWN || (t) == MDP_NO || (t) == MDP_YES)

FUZZ_TARGET(iommu)
{
        struct raw raw = {0};
        struct mdp_iommu_regs regs = {0};
        struct mdp_iommu_caps caps;
        _cleanup_free_ struct mdp_reg_field *fields = NULL;
        _cleanup_free_ char *buf = NULL;
        char *lines[3] = {NULL, NULL, NULL};
        size_t n_fields = 0, head = MIN(size, sizeof(raw)), n;
        uint64_t efr, efr2;
        unsigned major, minor;
        bool efr2_valid;

        memcpy(&raw, data, head);
        n = fuzz_split(data + head, size - head, '\n', lines, 3, &buf);

        regs.family = (enum mdp_iommu_family)(raw.family % _MDP_IOMMU_FAMILY_MAX);
        regs.vtd_valid = raw.flags & 1;
        regs.amd_valid = raw.flags & 2;
        regs.amd_efr2_valid = raw.flags & 4;
        regs.smmu_valid = raw.flags & 8;
        regs.vtd_sm_default_known = raw.flags & 16;
        regs.vtd_sm_default_on = raw.flags & 32;
        regs.vtd_cap = raw.vtd_cap;
        regs.vtd_ecap = raw.vtd_ecap;
        regs.vtd_version_major = raw.vtd_major;
        regs.vtd_version_minor = raw.vtd_minor;
        regs.amd_cap = raw.amd_cap;
        regs.amd_efr = raw.amd_efr;
        regs.amd_efr2 = raw.amd_efr2;
        memcpy(regs.smmu_idr, raw.smmu_idr, sizeof(regs.smmu_idr));

        /* The features line as the host model feeds it (§2.3): replaces EFR/EFR2 when it parses. */
        if (n >= 2 &&
            mdp_amd_parse_features(lines[1], n >= 3 ? lines[2] : NULL, &efr, &efr2, &efr2_valid) == 0) {
                regs.amd_efr = efr;
                regs.amd_efr2 = efr2;
                regs.amd_efr2_valid = efr2_valid;
        }
        if (n >= 3 && mdp_kernel_release_parse(lines[2], &major, &minor) == 0)
                FUZZ_ASSERT(major <= 999999 && minor <= 999999);

        FUZZ_ASSERT(mdp_iommu_decode_fields(&regs, &fields, &n_fields) >= 0);
        for (size_t i = 0; i < n_fields; i++) {
                FUZZ_ASSERT(fields[i].reg && fields[i].name);
                FUZZ_ASSERT(fields[i].width >= 1 && fields[i].lo + fields[i].width <= 64);
                FUZZ_ASSERT(TRISTATE_OK(fields[i].present));
        }
        mdp_iommu_caps_from_regs(&regs, n >= 1 && lines[0][0] ? lines[0] : NULL, &caps);
        FUZZ_ASSERT(caps.sm_on_source);
        FUZZ_ASSERT(caps.pasid == MDP_YES ? caps.pasid_width >= 1 && caps.pasid_width <= 32
                                          : caps.pasid_width == 0);
        return 0;
}
