/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Vocabulary shared by the host model, the decoders and the strategy engine. */

#include <stdbool.h>
#include <stdint.h>

/* A capability the product could not detect is unknown, never present (DESIGN.md §6). */
enum mdp_tristate {
        MDP_UNKNOWN = -1,
        MDP_NO = 0,
        MDP_YES = 1,
};
/* "yes", "no", "unknown" */
const char *mdp_tristate_to_string(enum mdp_tristate t);
static inline enum mdp_tristate mdp_tristate_from_bool(bool b)
{
        return b ? MDP_YES : MDP_NO;
}

/* IOMMU-SPEC.md §2.1: the family follows from the instance name. */
enum mdp_iommu_family {
        MDP_IOMMU_NONE,   /* no translating IOMMU */
        MDP_IOMMU_VTD,    /* dmar<N> */
        MDP_IOMMU_AMD,    /* ivhd<N> */
        MDP_IOMMU_SMMUV3, /* smmu3.0x<16 hex digits> */
        MDP_IOMMU_OTHER,
        _MDP_IOMMU_FAMILY_MAX,
};
/* "none", "vtd", "amd", "smmuv3", "other" */
const char *mdp_iommu_family_to_string(enum mdp_iommu_family f);
enum mdp_iommu_family mdp_iommu_family_from_name(const char *instance_name);

/* IOMMU-SPEC.md §1.4, DESIGN.md §6: emulated unless a vendor profile declares the type
 * PASID-granular and the kernel offers a path for it. */
enum mdp_mdev_class {
        MDP_MDEV_EMULATED,
        MDP_MDEV_PASID_GRANULAR,
};
const char *mdp_mdev_class_to_string(enum mdp_mdev_class c); /* "emulated", "pasid-granular" */

/* Raw IOMMU registers as sysfs (or a probe) shows them, before decoding. The host model
 * fills this; lib/iommu-decode.h turns it into named fields and engine capabilities. */
struct mdp_iommu_regs {
        enum mdp_iommu_family family;
        /* VT-d, intel-iommu/{cap,ecap,version} (§2.2) */
        bool vtd_valid;
        uint64_t vtd_cap, vtd_ecap;
        unsigned vtd_version_major, vtd_version_minor;
        /* AMD, amd-iommu/{cap,features} (§2.3): features already split into EFR and EFR2
         * following the kernel-version rule (mdp_amd_parse_features()) */
        bool amd_valid;
        uint32_t amd_cap;
        uint64_t amd_efr;
        bool amd_efr2_valid;
        uint64_t amd_efr2;
        /* SMMUv3 (§2.4): sysfs has no registers; valid only when probed through iommufd */
        bool smmu_valid;
        uint32_t smmu_idr[6];
        /* Not a register but needed to derive sm_on (§2.2): the kernel's
         * CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON, when the caller could read the kernel
         * config (/boot/config-<release>). Used only when the command line names neither
         * sm_on nor sm_off; left false (not known), sm_on is then unknown. */
        bool vtd_sm_default_known;
        bool vtd_sm_default_on;
};

/* PCI capabilities from the extended capability walk of IOMMU-SPEC.md §3. Each field is
 * unknown when config space could not be read in full (unprivileged 64-byte read), and a
 * capability not found before a broken list (loop, out of bounds, all-ones) is unknown too:
 * "no" only when the whole list was walked. */
struct mdp_pci_caps {
        enum mdp_tristate extended_space; /* no: conventional 256-byte config space */
        enum mdp_tristate pasid;          /* PASID capability 0x1B present */
        unsigned pasid_width;             /* Max PASID Width (bits), 0 when absent or unknown */
        enum mdp_tristate pasid_exec, pasid_priv, pasid_enabled;
        enum mdp_tristate ats;
        enum mdp_tristate ats_enabled;
        enum mdp_tristate pri;
        enum mdp_tristate pri_enabled;
        enum mdp_tristate sriov; /* SR-IOV capability 0x10 */
        enum mdp_tristate siov_dvsec; /* Intel SIOV DVSEC hint (§1.4), unverified [U] */
        bool walk_truncated;          /* the list ran off the end or looped: walk stopped */
};
