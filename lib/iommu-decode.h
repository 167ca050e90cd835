/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pure decoders for IOMMU registers (IOMMU-SPEC.md §2.2–§2.4): no I/O, no globals. */

#include <stddef.h>
#include <stdint.h>

#include "types.h"

/* One named field of a register, for reports. Single-bit fields have width 1 and
 * present = yes/no; multi-bit fields carry their value. Fields of registers that could not
 * be read (SMMUv3 from sysfs) are listed with present = unknown. */
struct mdp_reg_field {
        const char *reg;     /* "cap", "ecap", "efr", "efr2", "idr0", ... */
        const char *name;    /* "SMTS", "PSS", "MGAW", ... as the spec names them */
        unsigned lo, width;  /* bit position */
        uint64_t value;
        enum mdp_tristate present;
        const char *meaning; /* one short phrase */
};

/* Every field the spec's tables list for this IOMMU, in table order. *ret is malloc'd. */
int mdp_iommu_decode_fields(const struct mdp_iommu_regs *regs, struct mdp_reg_field **ret, size_t *ret_n);

/* What the strategy engine needs to know of a host IOMMU (IOMMU-SPEC.md §6.2 host.caps),
 * each capability yes/no/unknown. Derived predicates follow §2.2–§2.4. */
struct mdp_iommu_caps {
        enum mdp_iommu_family family;
        /* VT-d */
        enum mdp_tristate sm_hw;  /* ecap SMTS (43) */
        enum mdp_tristate sm_on;  /* sm_hw and the kernel runs scalable mode (cmdline) */
        enum mdp_tristate nest_hw; /* ecap NEST (26) */
        enum mdp_tristate fsts, ssts; /* ecap 47, 46 */
        enum mdp_tristate prs, srs, ers; /* ecap 29, 31, 30 */
        enum mdp_tristate caching_mode; /* cap CM (7): the host is itself a guest */
        enum mdp_tristate fl1gp;        /* cap 56 */
        unsigned mgaw;                  /* bits, 0 = unknown */
        /* PASID, any family: VT-d PASID(40)+PSS, SMMUv3 SSIDSIZE, AMD GT+PASMAX */
        enum mdp_tristate pasid;
        unsigned pasid_width; /* bits; 0 when absent or unknown */
        /* SMMUv3 */
        enum mdp_tristate s1p, s2p, pri, ats;
        enum mdp_tristate stall; /* STALL_MODEL != 1 (terminate only) */
        /* AMD */
        enum mdp_tristate gt, ppr, giosup, np_cache;
        /* nesting as §6.4 step 7 needs it from the hardware side */
        enum mdp_tristate nest; /* VT-d: sm_on && NEST && FSTS && SSTS && !CM; SMMUv3: S1P && S2P */
        enum mdp_tristate iopf; /* VT-d PRS; SMMUv3 PRI || stall; AMD PPR */
};

/* cmdline is the kernel command line (/proc/cmdline), used for intel_iommu=sm_on|sm_off;
 * NULL when unknown. */
void mdp_iommu_caps_from_regs(const struct mdp_iommu_regs *regs, const char *cmdline,
                              struct mdp_iommu_caps *ret);

/* amd-iommu/features: "EFR" on 3.17–5.19, "EFR2:EFR" on 6.0–6.6, "EFR:EFR2" from 6.7
 * (IOMMU-SPEC.md §2.3). kernel_release is uname -r style ("6.12.1-amd64"); when the format
 * is "A:B" and the release is unknown the order is ambiguous: -EINVAL... see the .c file. */
int mdp_amd_parse_features(const char *features, const char *kernel_release, uint64_t *ret_efr,
                           uint64_t *ret_efr2, bool *ret_efr2_valid);
