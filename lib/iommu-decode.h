/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pure decoders for IOMMU registers (IOMMU-SPEC.md §2.2–§2.4): no I/O, no globals. */

#include <stddef.h>
#include <stdint.h>

#include "types.h"

/* One named field of a register, for reports. Fields of registers that could not be read
 * (SMMUv3 from sysfs, or any *_valid false) are listed with present = unknown, raw = value = 0.
 * Otherwise: width 1 ⇒ present = yes/no is the bit; width > 1 ⇒ present = yes when the
 * value is non-zero, and value is what to print. value equals raw except where meaning says
 * "field + 1" (VT-d MGAW, NFR), so value is the width in bits / the count itself. */
struct mdp_reg_field {
        const char *reg;    /* "version", "cap", "ecap", "efr", "efr2", "idr0", ... */
        const char *name;   /* "SMTS", "PSS", "MGAW", ... as the spec names them */
        unsigned lo, width; /* bit position */
        uint64_t value;     /* decoded value (raw, or raw + 1 where meaning says so) */
        enum mdp_tristate present;
        const char *meaning; /* one short phrase */
        uint64_t raw;        /* the bits as the register holds them */
};

/* Every field the spec's tables list for this IOMMU family, in table order (§2.2: version,
 * ECAP, CAP; §2.3: cap, EFR, EFR2; §2.4: IDR0, IDR1, IDR3, IDR5). *ret is malloc'd (NULL with
 * *ret_n = 0 for families without registers: none, other). Returns 0 or -ENOMEM. */
int mdp_iommu_decode_fields(const struct mdp_iommu_regs *regs, struct mdp_reg_field **ret, size_t *ret_n);

/* What the strategy engine needs to know of a host IOMMU (IOMMU-SPEC.md §6.2 host.caps),
 * each capability yes/no/unknown. Derived predicates follow §2.2–§2.4. A capability is unknown
 * when its register is not known and, for families other than regs->family, always unknown
 * (not applicable). Unknown never counts as present: derived predicates are three-valued ANDs
 * (any no ⇒ no, else any unknown ⇒ unknown). */
struct mdp_iommu_caps {
        enum mdp_iommu_family family;
        /* VT-d */
        enum mdp_tristate sm_hw;         /* ecap SMTS (43) */
        enum mdp_tristate sm_on;         /* sm_hw and the kernel runs scalable mode (cmdline) */
        const char *sm_on_source;        /* static phrase: what decided sm_on, for reports */
        enum mdp_tristate nest_hw;       /* ecap NEST (26) */
        enum mdp_tristate fsts, ssts;    /* ecap 47, 46 */
        enum mdp_tristate prs, srs, ers; /* ecap 29, 31, 30 */
        enum mdp_tristate caching_mode;  /* cap CM (7): the host is itself a guest */
        enum mdp_tristate fl1gp;         /* cap 56 */
        unsigned mgaw;                   /* bits (field + 1), 0 = unknown */
        /* PASID, any family: VT-d sm_on+PASID(40), width PSS+1; SMMUv3 SSIDSIZE > 0;
         * AMD GT, width PASMAX+1 capped at 16 */
        enum mdp_tristate pasid;
        unsigned pasid_width; /* bits; 0 unless pasid == yes */
        /* SMMUv3 */
        enum mdp_tristate s1p, s2p, pri, ats;
        enum mdp_tristate stall; /* STALL_MODEL 0 or 2 (1 = terminate only, 3 reserved) */
        /* AMD */
        enum mdp_tristate gt, ppr, giosup, np_cache;
        /* nesting as §6.4 step 7 needs it from the hardware side */
        enum mdp_tristate nest; /* VT-d: sm_on && NEST && FSTS && SSTS && !CM; SMMUv3: S1P && S2P;
                                 * AMD: unknown (needs the iommufd probe, §2.3) */
        enum mdp_tristate iopf; /* VT-d pasid && PRS; SMMUv3 PRI || stall; AMD PPR */
};

/* cmdline is the kernel command line (/proc/cmdline), NULL when unknown. sm_on follows the
 * last intel_iommu= sm_on/sm_off/off on it (as the kernel parses it); when the command line
 * says nothing, regs->vtd_sm_default_* (kernel config) decides, and when that is not known
 * either sm_on is unknown: Debian's kernels default it on, but that is a config fact. */
void mdp_iommu_caps_from_regs(const struct mdp_iommu_regs *regs, const char *cmdline,
                              struct mdp_iommu_caps *ret);

/* Splits amd-iommu/features into EFR and EFR2 (IOMMU-SPEC.md §2.3). The format depends on
 * the kernel: "EFR" on 3.17–5.19, "EFR2:EFR" on 6.0–6.6, "EFR:EFR2" from 6.7 (values in hex
 * as "%llx", a trailing newline allowed). kernel_release is uname -r style ("6.12.1-amd64");
 * it is needed only for the two-value format.
 * Returns 0 with *ret_efr2_valid false for the one-value format, true for two values.
 * Errors (outputs untouched):
 *   -EINVAL   features is not one or two hex values separated by ':';
 *   -ERANGE   a value does not fit in 64 bits;
 *   -ENODATA  two values but kernel_release is NULL, unparsable or older than 6.0 (a
 *             backport): the order is ambiguous, so nothing is guessed. The caller should
 *             say so and may cross-check the boot log line "Using global IVHD EFR:..". */
int mdp_amd_parse_features(const char *features, const char *kernel_release, uint64_t *ret_efr,
                           uint64_t *ret_efr2, bool *ret_efr2_valid);

/* The "major.minor" of a uname -r style release ("6.1.0-56-amd64" ⇒ 6, 1); -EINVAL when the
 * string does not start with "<digits>.<digits>". */
int mdp_kernel_release_parse(const char *release, unsigned *ret_major, unsigned *ret_minor);
