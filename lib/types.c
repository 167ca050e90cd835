/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "types.h"
#include "util/macro.h"

_public_ const char *mdp_tristate_to_string(enum mdp_tristate t)
{
        return t == MDP_YES ? "yes" : t == MDP_NO ? "no" : "unknown";
}

static const char *const family_names[_MDP_IOMMU_FAMILY_MAX] = {
        [MDP_IOMMU_NONE] = "none",     [MDP_IOMMU_VTD] = "vtd",     [MDP_IOMMU_AMD] = "amd",
        [MDP_IOMMU_SMMUV3] = "smmuv3", [MDP_IOMMU_OTHER] = "other",
};

_public_ const char *mdp_iommu_family_to_string(enum mdp_iommu_family f)
{
        return (unsigned)f < _MDP_IOMMU_FAMILY_MAX ? family_names[f] : "other";
}

/* A prefix followed by at least one decimal digit and nothing else. */
static bool name_is(const char *name, const char *prefix)
{
        const char *rest = startswith(name, prefix);

        if (!rest || !*rest)
                return false;
        for (; *rest; rest++)
                if (*rest < '0' || *rest > '9')
                        return false;
        return true;
}

_public_ enum mdp_iommu_family mdp_iommu_family_from_name(const char *name)
{
        const char *rest;

        if (isempty(name))
                return MDP_IOMMU_NONE;
        if (name_is(name, "dmar"))
                return MDP_IOMMU_VTD;
        if (name_is(name, "ivhd"))
                return MDP_IOMMU_AMD;
        /* smmu3.%pa: "0x" and 16 hex digits of the MMIO base (IOMMU-SPEC.md §2.1). */
        rest = startswith(name, "smmu3.0x");
        if (rest && strlen(rest) == 16 && strspn(rest, "0123456789abcdefABCDEF") == 16)
                return MDP_IOMMU_SMMUV3;
        return MDP_IOMMU_OTHER;
}

_public_ const char *mdp_mdev_class_to_string(enum mdp_mdev_class c)
{
        return c == MDP_MDEV_PASID_GRANULAR ? "pasid-granular" : "emulated";
}
