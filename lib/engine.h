/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The strategy engine (IOMMU-SPEC.md §6, DESIGN.md §6): a pure function from a plan request
 * (a VM, its guest vIOMMU mode and its units with their host facts, kernel features, VMM
 * capabilities and policy) to a plan (per unit and for the VM: strategy, reason code,
 * explanation, and the configuration to apply). No I/O, no globals; the plan is one
 * allocation owner freed with mdp_plan_free().
 *
 * Tri-states: every fact is yes/no/unknown. The engine never treats unknown as present;
 * the plan lists every unknown fact it looked at and how it was treated. Note that
 * MDP_NO is 0, so a zeroed struct says "absent" everywhere: initialise requests with the
 * _init() functions below, which set every fact to unknown. */

#include <stdbool.h>
#include <stddef.h>

#include "iommu-decode.h"
#include "types.h"

struct json_object;

/* ---- vocabulary; every enum has _to_string() and _from_string() (the latter returns
 * the value, or -EINVAL for a string that names none) ---- */

/* §6.2 guest: G0..G3. Strings (CLI spelling): "none", "nopasid", "pasid", "svsa". */
enum mdp_guest_mode {
        MDP_GUEST_NONE,    /* G0: no vIOMMU */
        MDP_GUEST_NOPASID, /* G1: vIOMMU without PASID */
        MDP_GUEST_PASID,   /* G2: vIOMMU with PASIDs on pinned DMA domains */
        MDP_GUEST_SVSA,    /* G3: shared virtual addressing (PASID + I/O page faults) */
        _MDP_GUEST_MODE_MAX,
};
const char *mdp_guest_mode_to_string(enum mdp_guest_mode m);
int mdp_guest_mode_from_string(const char *s);

/* The guest architecture. Unknown is derived from the units' IOMMU families (VT-d/AMD:
 * x86, SMMUv3: Arm); when it cannot be, SHADOW is offered through virtio-iommu only, the
 * one vIOMMU that works on any architecture. Strings: "unknown", "x86_64", "aarch64",
 * "other". */
enum mdp_arch {
        MDP_ARCH_UNKNOWN,
        MDP_ARCH_X86_64,
        MDP_ARCH_AARCH64, /* SHADOW means virtio-iommu only (§4.4) */
        MDP_ARCH_OTHER,   /* e.g. s390x: virtio-iommu only */
        _MDP_ARCH_MAX,
};
const char *mdp_arch_to_string(enum mdp_arch a);
int mdp_arch_from_string(const char *s);

/* §0 / §6.2 unit. Strings: "pf", "vf", "emdev", "pmdev". */
enum mdp_unit_kind {
        MDP_UNIT_PF,
        MDP_UNIT_VF,
        MDP_UNIT_EMDEV, /* emulated mdev: the vendor driver mediates DMA in software */
        MDP_UNIT_PMDEV, /* PASID-granular (IOMMU-backed) mdev */
        _MDP_UNIT_KIND_MAX,
};
const char *mdp_unit_kind_to_string(enum mdp_unit_kind k);
int mdp_unit_kind_from_string(const char *s);

/* Strings: "direct", "shadow", "nest", "shadow+pv", "nest+pv", "refused". */
enum mdp_strategy {
        MDP_STRATEGY_DIRECT,
        MDP_STRATEGY_SHADOW,
        MDP_STRATEGY_NEST,
        MDP_STRATEGY_SHADOW_PV,
        MDP_STRATEGY_NEST_PV,
        MDP_STRATEGY_REFUSED,
        _MDP_STRATEGY_MAX,
};
const char *mdp_strategy_to_string(enum mdp_strategy s);
int mdp_strategy_from_string(const char *s);

/* §6.7, spelled exactly as the table ("NO_HOST_IOMMU", ...). MDP_REASON_NONE ("none";
 * null in JSON) for a plan that needs no reason. HOST_IS_GUEST accompanies a SHADOW plan
 * (nesting unavailable because the host is itself a guest); every other code is a
 * refusal. */
enum mdp_reason {
        MDP_REASON_NONE,
        MDP_REASON_NO_HOST_IOMMU,
        MDP_REASON_GROUP_NOT_VIABLE,
        MDP_REASON_NO_PMDEV_PATH,
        MDP_REASON_EMULATED_NO_PASID,
        MDP_REASON_NO_VIOMMU_PATH,
        MDP_REASON_NO_PASID_NEST,
        MDP_REASON_NO_PV_PASID,
        MDP_REASON_SHADOW_STAGE1_FOR_VSVA,
        MDP_REASON_VSVA_UNSUPPORTED,
        MDP_REASON_MIXED_MODES,
        MDP_REASON_HOST_IS_GUEST,
        _MDP_REASON_MAX,
};
const char *mdp_reason_to_string(enum mdp_reason r);
int mdp_reason_from_string(const char *s);
/* The §6.7 meaning, one sentence. */
const char *mdp_reason_meaning(enum mdp_reason r);

/* §6.5 kernel side. Strings: "none" (refused), "type1v2-container", "iommufd-ioas",
 * "iommufd-nested-hwpt". A type1 container is never used for NEST (§4.1). */
enum mdp_kernel_backend {
        MDP_BACKEND_NONE,
        MDP_BACKEND_TYPE1V2_CONTAINER,
        MDP_BACKEND_IOMMUFD_IOAS,
        MDP_BACKEND_IOMMUFD_NESTED_HWPT,
        _MDP_KERNEL_BACKEND_MAX,
};
const char *mdp_kernel_backend_to_string(enum mdp_kernel_backend b);
int mdp_kernel_backend_from_string(const char *s);

/* The one vIOMMU a VM gets (§6.4 step 11). Strings: "none", "intel" (caching-mode,
 * shadowing), "intel-nested" (scalable mode + first stage over iommufd), "virtio",
 * "amd" (dma-remap, shadowing), "amd-nested", "smmuv3-accel". */
enum mdp_viommu {
        MDP_VIOMMU_NONE,
        MDP_VIOMMU_INTEL,
        MDP_VIOMMU_INTEL_NESTED,
        MDP_VIOMMU_VIRTIO,
        MDP_VIOMMU_AMD,
        MDP_VIOMMU_AMD_NESTED,
        MDP_VIOMMU_SMMUV3_ACCEL,
        _MDP_VIOMMU_MAX,
};
const char *mdp_viommu_to_string(enum mdp_viommu v);
int mdp_viommu_from_string(const char *s);

/* §6.2 kernel. Probe results beat version numbers: whoever fills these decides, and
 * records how in basis[]. Strings are the names below ("iommufd", "vfio_cdev", ...). */
enum mdp_kernel_feature {
        MDP_KFEAT_IOMMUFD,        /* /dev/iommu */
        MDP_KFEAT_VFIO_CDEV,      /* /dev/vfio/devices/vfioX (6.6) */
        MDP_KFEAT_TYPE1V2,        /* /dev/vfio/vfio offers VFIO_TYPE1v2_IOMMU */
        MDP_KFEAT_NEST_PARENT,    /* IOMMU_HWPT_ALLOC_NEST_PARENT (6.7) */
        MDP_KFEAT_VTD_INVALIDATE, /* IOMMU_HWPT_INVALIDATE for VT-d stage 1 (6.8) */
        MDP_KFEAT_VIOMMU,         /* IOMMU_VIOMMU_ALLOC / VDEVICE, SMMUv3 nesting (6.13) */
        MDP_KFEAT_PASID_ATTACH,   /* VFIO_DEVICE_ATTACH_PASID, IOMMU_HWPT_ALLOC_PASID (6.15) */
        MDP_KFEAT_FAULT_QUEUE,    /* IOMMU_FAULT_QUEUE_ALLOC (~6.11) */
        MDP_KFEAT_VEVENTQ,        /* IOMMU_VEVENTQ_ALLOC (6.15) */
        MDP_KFEAT_PMDEV_PATH,     /* a PASID-granular assignment path: vendor or future (§1.5) */
        MDP_KFEAT_AMD_NEST,       /* AMD nesting, probed (§2.3) */
        _MDP_KERNEL_FEATURE_MAX,
};
const char *mdp_kernel_feature_to_string(enum mdp_kernel_feature f);
int mdp_kernel_feature_from_string(const char *s);

struct mdp_kernel_facts {
        enum mdp_tristate has[_MDP_KERNEL_FEATURE_MAX];
        /* how each was learned, cited in explanations: "probe", "/dev/iommu", "kernel 6.12
         * (version prior)"; NULL when not said. Borrowed for the duration of the call. */
        const char *basis[_MDP_KERNEL_FEATURE_MAX];
};

/* §6.2 vmm: what the VMM (and the guest side of a custom stack) supports, as the operator
 * asserts it in policy. Unknown = not asserted, treated as absent. The strings are the
 * QEMU spellings a policy file uses: "<device>.<property>" for device properties, the QOM
 * type for objects and devices, and plain names for assertions QEMU has no property for.
 * Where QEMU renamed a property both spellings exist; the emitted options use the new one
 * when it is asserted, else the old one. */
enum mdp_vmm_cap {
        MDP_VMM_IOMMUFD,                      /* "iommufd": -object iommufd and vfio-pci iommufd= */
        MDP_VMM_INTEL_IOMMU_CACHING_MODE,     /* "intel-iommu.caching-mode" */
        MDP_VMM_INTEL_IOMMU_SCALABLE_MODE,    /* "intel-iommu.scalable-mode" */
        MDP_VMM_INTEL_IOMMU_X_SCALABLE_MODE,  /* "intel-iommu.x-scalable-mode" */
        MDP_VMM_INTEL_IOMMU_FSTS,             /* "intel-iommu.fsts" */
        MDP_VMM_INTEL_IOMMU_X_FLTS,           /* "intel-iommu.x-flts" */
        MDP_VMM_INTEL_IOMMU_PASID_BITS,       /* "intel-iommu.pasid-bits" */
        MDP_VMM_INTEL_IOMMU_X_PASID_MODE,     /* "intel-iommu.x-pasid-mode" */
        MDP_VMM_INTEL_IOMMU_SVM,              /* "intel-iommu.svm" */
        MDP_VMM_SMMUV3_ACCEL,                 /* "arm-smmuv3.accel" */
        MDP_VMM_SMMUV3_SSIDSIZE,              /* "arm-smmuv3.ssidsize" */
        MDP_VMM_VIRTIO_IOMMU,                 /* "virtio-iommu-pci" */
        MDP_VMM_AMD_IOMMU_DMA_REMAP,          /* "amd-iommu.dma-remap" */
        MDP_VMM_AMD_IOMMU_NEST,               /* "amd-iommu.nest": AMD nesting counterpart [U] */
        MDP_VMM_VFIO_PCI_X_VPASID_CAP_OFFSET, /* "vfio-pci.x-vpasid-cap-offset" */
        MDP_VMM_PASSTHROUGH_PASID,            /* "passthrough-pasid": non-zero PASIDs on nested VFIO */
        MDP_VMM_FAULT_FORWARDING,             /* "fault-forwarding": I/O page faults to the guest */
        MDP_VMM_PV_PASID_ALLOC,               /* "pv-pasid-alloc": PV PASID allocation, VMM+guest (§6.6) */
        _MDP_VMM_CAP_MAX,
};
const char *mdp_vmm_cap_to_string(enum mdp_vmm_cap c);
int mdp_vmm_cap_from_string(const char *s);

/* §6.2 policy.prefer. Strings: "nest", "shadow". */
enum mdp_prefer {
        MDP_PREFER_NEST, /* default [J] */
        MDP_PREFER_SHADOW,
        _MDP_PREFER_MAX,
};
const char *mdp_prefer_to_string(enum mdp_prefer p);
int mdp_prefer_from_string(const char *s);

/* VMM capabilities and policy: what the policy loader fills (conf/), per VM after
 * per-VM overrides are applied. */
struct mdp_engine_options {
        enum mdp_tristate vmm[_MDP_VMM_CAP_MAX];
        enum mdp_prefer prefer;
        bool allow_experimental; /* cells the spec marks "refused by default" or experimental */
        bool migration_required; /* rules out SMMUv3 accel nesting, which blocks migration */
};

/* One unit and its host facts. Strings are borrowed for the duration of the call. */
struct mdp_unit_input {
        const char *id; /* mdev UUID or PCI address ("0000:01:00.1") */
        enum mdp_unit_kind kind;
        const char *parent;     /* mdevs: the parent device name; NULL for PF/VF */
        const char *device_api; /* mdevs: "vfio-pci", "vfio-ccw", "vfio-ap"; NULL = vfio-pci */
        /* The translating IOMMU of the unit (of the parent for mdevs): family NONE when
         * there is none. iommu_name is its instance ("dmar0"), cited in explanations. */
        const char *iommu_name;
        struct mdp_iommu_caps iommu;
        /* PCI capabilities of the function (a VF's PASID/PRI are its PF's, §3.3; for
         * mdevs the parent's). */
        struct mdp_pci_caps pci;
        /* §6.4 step 1: the IOMMU group */
        enum mdp_tristate has_group;    /* an iommu_group link exists */
        const char *group;              /* its number, for explanations; may be NULL */
        enum mdp_tristate group_viable; /* every member of the group goes to this VM */
        const char *group_blocker;      /* a member that does not, cited; may be NULL */
        enum mdp_tristate parent_bound; /* PMDEV: the parent is bound to its vendor driver */
        /* §6.2 sharing, for PMDEV parents */
        enum mdp_tristate parent_exclusive; /* no other VM holds units on this parent */
        const char *other_vm;               /* one VM that does, cited; may be NULL */
        enum mdp_tristate host_uses_rid;    /* the host driver does DMA with the parent's RID */
        /* Guest topology: VT-d nesting in QEMU does not support a device behind a
         * conventional PCI bridge (§4.4). Unknown: the plan requires a PCIe root port. */
        enum mdp_tristate behind_pci_bridge;
};

struct mdp_plan_request {
        const char *vm;
        enum mdp_guest_mode guest;
        /* how the mode was derived: "--viommu pasid", "<iommu model='intel'> ..." */
        const char *guest_basis;
        enum mdp_arch arch;
        const struct mdp_unit_input *units;
        size_t n_units;
        struct mdp_kernel_facts kernel;
        struct mdp_engine_options options;
        const char *const *policy_files; /* the files the options came from, reported as is */
        size_t n_policy_files;
};

/* Every fact unknown, policy defaults (prefer nest, nothing experimental, no migration). */
void mdp_kernel_facts_init(struct mdp_kernel_facts *k);
void mdp_engine_options_init(struct mdp_engine_options *o);
/* Every fact unknown, IOMMU family NONE, kind PF. */
void mdp_unit_input_init(struct mdp_unit_input *u);
/* Zero units, guest G0, arch unknown, kernel facts and options as above. */
void mdp_plan_request_init(struct mdp_plan_request *r);

/* ---- the plan ---- */

struct mdp_unit_plan {
        const char *unit; /* the input id */
        enum mdp_unit_kind kind;
        enum mdp_strategy strategy;
        enum mdp_reason reason;
        enum mdp_viommu viommu;          /* the vIOMMU this unit's strategy runs under */
        enum mdp_kernel_backend backend; /* NONE when refused */
        /* The rules that fired, in order: each cites the §6.4 step or §6.3 cell and the
         * facts it rests on ("ecap NEST=0 (dmar0)"). */
        const char *const *explanation;
        size_t n_explanation;
        /* Every unknown fact looked at, once each, with its treatment
         * ("ecap FSTS (dmar0) unknown ⇒ treated as absent"). */
        const char *const *unknowns;
        size_t n_unknowns;
};

struct mdp_plan {
        const char *vm;
        enum mdp_guest_mode guest;
        const char *guest_basis; /* NULL when the request gave none */
        enum mdp_arch arch;      /* as used: derived when the request said unknown */
        /* The VM: REFUSED when any unit is refused (refused_by names the first one, and
         * reason is its reason) or when the units cannot share one vIOMMU (MIXED_MODES).
         * Otherwise the units' common strategy, "+pv" when any unit needs PV. */
        enum mdp_strategy strategy;
        enum mdp_reason reason;
        const char *refused_by;
        enum mdp_viommu viommu;
        enum mdp_kernel_backend backend;
        /* §6.5, empty when refused: QEMU arguments, one "-device ..."/"-object ..." per
         * element in command-line order, and a libvirt XML fragment (which says in XML
         * comments when libvirt has no XML for what is needed). */
        const char *const *qemu;
        size_t n_qemu;
        const char *libvirt_xml;
        /* VM-level rules: reconciliation (§6.4 step 11) and configuration notes. */
        const char *const *explanation;
        size_t n_explanation;
        const char *const *policy_files;
        size_t n_policy_files;
        struct mdp_unit_plan *units; /* in request order */
        size_t n_units;
};

/* Checks a request: 0, or -EINVAL with one sentence naming the bad field and unit written
 * to errbuf (may be NULL). */
int mdp_plan_request_validate(const struct mdp_plan_request *req, char *errbuf, size_t errbuf_size);

/* The engine. 0 and a new plan; -EINVAL for a request mdp_plan_request_validate() rejects;
 * -ENOMEM. Deterministic: the same request gives the same plan. */
int mdp_engine_plan(const struct mdp_plan_request *req, struct mdp_plan **ret);
struct mdp_plan *mdp_plan_free(struct mdp_plan *plan);
static inline void mdp_plan_freep(struct mdp_plan **p)
{
        if (*p)
                mdp_plan_free(*p);
}

/* ---- rendering, shared by the CLI and the daemon ---- */

/* JSON with fixed keys: vm, strategy, reason, units (each: unit, kind, strategy, reason,
 * explanation), kernel_backend, qemu, libvirt_xml, policy_files. reason is null when
 * none; a unit's explanation lists its rules, then its unknowns ("<fact> unknown ⇒ <how
 * treated>"). kernel_backend and libvirt_xml are null, qemu is empty for a refused VM. */
int mdp_plan_to_json(const struct mdp_plan *plan, struct json_object **ret);
/* For people: a summary line, a table of units, each unit's explanation, the
 * configuration. A malloc'd string. */
int mdp_plan_format_text(const struct mdp_plan *plan, char **ret);
