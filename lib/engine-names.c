/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* String forms of the engine's enums and request initialisers (lib/engine.h). */
#include <errno.h>
#include <string.h>

#include "engine.h"
#include "util/macro.h"

static int lookup(const char *const *table, size_t n, const char *s)
{
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int)i;
        return -EINVAL;
}

#define DEFINE_STRING_TABLE(name, type, max, fallback)                                                      \
        _public_ const char *name##_to_string(type v)                                                       \
        {                                                                                                   \
                return (unsigned)v < (max) ? name##_table[v] : (fallback);                                  \
        }                                                                                                   \
        _public_ int name##_from_string(const char *s)                                                      \
        {                                                                                                   \
                return lookup(name##_table, (max), s);                                                      \
        }

static const char *const mdp_guest_mode_table[_MDP_GUEST_MODE_MAX] = {
        [MDP_GUEST_NONE] = "none",
        [MDP_GUEST_NOPASID] = "nopasid",
        [MDP_GUEST_PASID] = "pasid",
        [MDP_GUEST_SVSA] = "svsa",
};
DEFINE_STRING_TABLE(mdp_guest_mode, enum mdp_guest_mode, _MDP_GUEST_MODE_MAX, "invalid")

static const char *const mdp_arch_table[_MDP_ARCH_MAX] = {
        [MDP_ARCH_UNKNOWN] = "unknown",
        [MDP_ARCH_X86_64] = "x86_64",
        [MDP_ARCH_AARCH64] = "aarch64",
        [MDP_ARCH_OTHER] = "other",
};
DEFINE_STRING_TABLE(mdp_arch, enum mdp_arch, _MDP_ARCH_MAX, "invalid")

static const char *const mdp_unit_kind_table[_MDP_UNIT_KIND_MAX] = {
        [MDP_UNIT_PF] = "pf",
        [MDP_UNIT_VF] = "vf",
        [MDP_UNIT_EMDEV] = "emdev",
        [MDP_UNIT_PMDEV] = "pmdev",
};
DEFINE_STRING_TABLE(mdp_unit_kind, enum mdp_unit_kind, _MDP_UNIT_KIND_MAX, "invalid")

static const char *const mdp_strategy_table[_MDP_STRATEGY_MAX] = {
        [MDP_STRATEGY_DIRECT] = "direct",   [MDP_STRATEGY_SHADOW] = "shadow",
        [MDP_STRATEGY_NEST] = "nest",       [MDP_STRATEGY_SHADOW_PV] = "shadow+pv",
        [MDP_STRATEGY_NEST_PV] = "nest+pv", [MDP_STRATEGY_REFUSED] = "refused",
};
DEFINE_STRING_TABLE(mdp_strategy, enum mdp_strategy, _MDP_STRATEGY_MAX, "invalid")

/* IOMMU-SPEC.md §6.7, spelled exactly as the table. */
static const char *const mdp_reason_table[_MDP_REASON_MAX] = {
        [MDP_REASON_NONE] = "none",
        [MDP_REASON_NO_HOST_IOMMU] = "NO_HOST_IOMMU",
        [MDP_REASON_GROUP_NOT_VIABLE] = "GROUP_NOT_VIABLE",
        [MDP_REASON_NO_PMDEV_PATH] = "NO_PMDEV_PATH",
        [MDP_REASON_EMULATED_NO_PASID] = "EMULATED_NO_PASID",
        [MDP_REASON_NO_VIOMMU_PATH] = "NO_VIOMMU_PATH",
        [MDP_REASON_NO_PASID_NEST] = "NO_PASID_NEST",
        [MDP_REASON_NO_PV_PASID] = "NO_PV_PASID",
        [MDP_REASON_SHADOW_STAGE1_FOR_VSVA] = "SHADOW_STAGE1_FOR_VSVA",
        [MDP_REASON_VSVA_UNSUPPORTED] = "VSVA_UNSUPPORTED",
        [MDP_REASON_MIXED_MODES] = "MIXED_MODES",
        [MDP_REASON_HOST_IS_GUEST] = "HOST_IS_GUEST",
};
DEFINE_STRING_TABLE(mdp_reason, enum mdp_reason, _MDP_REASON_MAX, "invalid")

static const char *const reason_meanings[_MDP_REASON_MAX] = {
        [MDP_REASON_NONE] = "no reason needed",
        [MDP_REASON_NO_HOST_IOMMU] = "a PF or VF has no translating IOMMU",
        [MDP_REASON_GROUP_NOT_VIABLE] = "the IOMMU group cannot be given to this VM whole",
        [MDP_REASON_NO_PMDEV_PATH] = "the kernel lacks a PASID-granular assignment path",
        [MDP_REASON_EMULATED_NO_PASID] = "an emulated mdev cannot expose guest PASIDs",
        [MDP_REASON_NO_VIOMMU_PATH] = "the VMM offers neither shadowing nor nesting for this unit",
        [MDP_REASON_NO_PASID_NEST] =
                "guest PASIDs need per-PASID nesting, which the host, kernel or VMM lacks",
        [MDP_REASON_NO_PV_PASID] = "the parent's PASID space is shared, and no PV allocation channel exists",
        [MDP_REASON_SHADOW_STAGE1_FOR_VSVA] = "would have to shadow guest CPU page tables",
        [MDP_REASON_VSVA_UNSUPPORTED] = "I/O page-fault forwarding is missing somewhere in the chain",
        [MDP_REASON_MIXED_MODES] = "the VM's units need incompatible vIOMMU configurations",
        [MDP_REASON_HOST_IS_GUEST] = "the host is itself a guest: nesting is unavailable, shadowing instead",
};

_public_ const char *mdp_reason_meaning(enum mdp_reason r)
{
        return (unsigned)r < _MDP_REASON_MAX ? reason_meanings[r] : "invalid";
}

static const char *const mdp_kernel_backend_table[_MDP_KERNEL_BACKEND_MAX] = {
        [MDP_BACKEND_NONE] = "none",
        [MDP_BACKEND_TYPE1V2_CONTAINER] = "type1v2-container",
        [MDP_BACKEND_IOMMUFD_IOAS] = "iommufd-ioas",
        [MDP_BACKEND_IOMMUFD_NESTED_HWPT] = "iommufd-nested-hwpt",
};
DEFINE_STRING_TABLE(mdp_kernel_backend, enum mdp_kernel_backend, _MDP_KERNEL_BACKEND_MAX, "invalid")

static const char *const mdp_viommu_table[_MDP_VIOMMU_MAX] = {
        [MDP_VIOMMU_NONE] = "none",
        [MDP_VIOMMU_INTEL] = "intel",
        [MDP_VIOMMU_INTEL_NESTED] = "intel-nested",
        [MDP_VIOMMU_VIRTIO] = "virtio",
        [MDP_VIOMMU_AMD] = "amd",
        [MDP_VIOMMU_AMD_NESTED] = "amd-nested",
        [MDP_VIOMMU_SMMUV3_ACCEL] = "smmuv3-accel",
};
DEFINE_STRING_TABLE(mdp_viommu, enum mdp_viommu, _MDP_VIOMMU_MAX, "invalid")

static const char *const mdp_kernel_feature_table[_MDP_KERNEL_FEATURE_MAX] = {
        [MDP_KFEAT_IOMMUFD] = "iommufd",
        [MDP_KFEAT_VFIO_CDEV] = "vfio_cdev",
        [MDP_KFEAT_TYPE1V2] = "type1v2",
        [MDP_KFEAT_NEST_PARENT] = "nest_parent",
        [MDP_KFEAT_VTD_INVALIDATE] = "vtd_invalidate",
        [MDP_KFEAT_VIOMMU] = "viommu",
        [MDP_KFEAT_PASID_ATTACH] = "pasid_attach",
        [MDP_KFEAT_FAULT_QUEUE] = "fault_queue",
        [MDP_KFEAT_VEVENTQ] = "veventq",
        [MDP_KFEAT_PMDEV_PATH] = "pmdev_path",
        [MDP_KFEAT_AMD_NEST] = "amd_nest",
};
DEFINE_STRING_TABLE(mdp_kernel_feature, enum mdp_kernel_feature, _MDP_KERNEL_FEATURE_MAX, "invalid")

static const char *const mdp_vmm_cap_table[_MDP_VMM_CAP_MAX] = {
        [MDP_VMM_IOMMUFD] = "iommufd",
        [MDP_VMM_INTEL_IOMMU_CACHING_MODE] = "intel-iommu.caching-mode",
        [MDP_VMM_INTEL_IOMMU_SCALABLE_MODE] = "intel-iommu.scalable-mode",
        [MDP_VMM_INTEL_IOMMU_X_SCALABLE_MODE] = "intel-iommu.x-scalable-mode",
        [MDP_VMM_INTEL_IOMMU_FSTS] = "intel-iommu.fsts",
        [MDP_VMM_INTEL_IOMMU_X_FLTS] = "intel-iommu.x-flts",
        [MDP_VMM_INTEL_IOMMU_PASID_BITS] = "intel-iommu.pasid-bits",
        [MDP_VMM_INTEL_IOMMU_X_PASID_MODE] = "intel-iommu.x-pasid-mode",
        [MDP_VMM_INTEL_IOMMU_SVM] = "intel-iommu.svm",
        [MDP_VMM_SMMUV3_ACCEL] = "arm-smmuv3.accel",
        [MDP_VMM_SMMUV3_SSIDSIZE] = "arm-smmuv3.ssidsize",
        [MDP_VMM_VIRTIO_IOMMU] = "virtio-iommu-pci",
        [MDP_VMM_AMD_IOMMU_DMA_REMAP] = "amd-iommu.dma-remap",
        [MDP_VMM_AMD_IOMMU_NEST] = "amd-iommu.nest",
        [MDP_VMM_VFIO_PCI_X_VPASID_CAP_OFFSET] = "vfio-pci.x-vpasid-cap-offset",
        [MDP_VMM_PASSTHROUGH_PASID] = "passthrough-pasid",
        [MDP_VMM_FAULT_FORWARDING] = "fault-forwarding",
        [MDP_VMM_PV_PASID_ALLOC] = "pv-pasid-alloc",
};
DEFINE_STRING_TABLE(mdp_vmm_cap, enum mdp_vmm_cap, _MDP_VMM_CAP_MAX, "invalid")

static const char *const mdp_prefer_table[_MDP_PREFER_MAX] = {
        [MDP_PREFER_NEST] = "nest",
        [MDP_PREFER_SHADOW] = "shadow",
};
DEFINE_STRING_TABLE(mdp_prefer, enum mdp_prefer, _MDP_PREFER_MAX, "invalid")

_public_ void mdp_kernel_facts_init(struct mdp_kernel_facts *k)
{
        *k = (struct mdp_kernel_facts){};
        for (size_t i = 0; i < _MDP_KERNEL_FEATURE_MAX; i++)
                k->has[i] = MDP_UNKNOWN;
}

_public_ void mdp_engine_options_init(struct mdp_engine_options *o)
{
        *o = (struct mdp_engine_options){.prefer = MDP_PREFER_NEST};
        for (size_t i = 0; i < _MDP_VMM_CAP_MAX; i++)
                o->vmm[i] = MDP_UNKNOWN;
}

static void iommu_caps_unknown(struct mdp_iommu_caps *c)
{
        *c = (struct mdp_iommu_caps){
                .family = MDP_IOMMU_NONE,
                .sm_hw = MDP_UNKNOWN,
                .sm_on = MDP_UNKNOWN,
                .nest_hw = MDP_UNKNOWN,
                .fsts = MDP_UNKNOWN,
                .ssts = MDP_UNKNOWN,
                .prs = MDP_UNKNOWN,
                .srs = MDP_UNKNOWN,
                .ers = MDP_UNKNOWN,
                .caching_mode = MDP_UNKNOWN,
                .fl1gp = MDP_UNKNOWN,
                .pasid = MDP_UNKNOWN,
                .s1p = MDP_UNKNOWN,
                .s2p = MDP_UNKNOWN,
                .pri = MDP_UNKNOWN,
                .ats = MDP_UNKNOWN,
                .stall = MDP_UNKNOWN,
                .gt = MDP_UNKNOWN,
                .ppr = MDP_UNKNOWN,
                .giosup = MDP_UNKNOWN,
                .np_cache = MDP_UNKNOWN,
                .nest = MDP_UNKNOWN,
                .iopf = MDP_UNKNOWN,
        };
}

static void pci_caps_unknown(struct mdp_pci_caps *c)
{
        *c = (struct mdp_pci_caps){
                .extended_space = MDP_UNKNOWN,
                .pasid = MDP_UNKNOWN,
                .pasid_exec = MDP_UNKNOWN,
                .pasid_priv = MDP_UNKNOWN,
                .pasid_enabled = MDP_UNKNOWN,
                .ats = MDP_UNKNOWN,
                .ats_enabled = MDP_UNKNOWN,
                .pri = MDP_UNKNOWN,
                .pri_enabled = MDP_UNKNOWN,
                .sriov = MDP_UNKNOWN,
                .siov_dvsec = MDP_UNKNOWN,
        };
}

_public_ void mdp_unit_input_init(struct mdp_unit_input *u)
{
        *u = (struct mdp_unit_input){
                .kind = MDP_UNIT_PF,
                .has_group = MDP_UNKNOWN,
                .group_viable = MDP_UNKNOWN,
                .parent_bound = MDP_UNKNOWN,
                .parent_exclusive = MDP_UNKNOWN,
                .host_uses_rid = MDP_UNKNOWN,
                .behind_pci_bridge = MDP_UNKNOWN,
        };
        iommu_caps_unknown(&u->iommu);
        pci_caps_unknown(&u->pci);
}

_public_ void mdp_plan_request_init(struct mdp_plan_request *r)
{
        *r = (struct mdp_plan_request){.guest = MDP_GUEST_NONE, .arch = MDP_ARCH_UNKNOWN};
        mdp_kernel_facts_init(&r->kernel);
        mdp_engine_options_init(&r->options);
}
