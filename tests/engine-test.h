/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Builders for strategy-engine requests shared by the engine tests and the benchmark:
 * host IOMMUs with the capability bits of IOMMU-SPEC.md §2, units, and two sets of
 * kernel/VMM facts: today's upstream (what a 2026 kernel and QEMU offer) and everything
 * (every capability asserted, for the cells whose prerequisites upstream lacks). */

#include <stdbool.h>

#include "engine.h"

#define ENV_MAX_UNITS 32

struct engine_env {
        struct mdp_plan_request req;
        struct mdp_unit_input units[ENV_MAX_UNITS];
        const char *policy_files[2];
};

/* Today's upstream: iommufd, cdev, type1v2, nest_parent, vtd_invalidate, viommu,
 * pasid_attach, fault_queue, veventq; no PMDEV path, no AMD nesting. VMM: iommufd,
 * intel-iommu caching-mode/x-scalable-mode/x-flts/x-pasid-mode, arm-smmuv3 accel/ssidsize,
 * virtio-iommu, vfio-pci x-vpasid-cap-offset; no passthrough PASID, no fault forwarding, no
 * PV PASID allocation, no svm, no amd-iommu. Guest mode G0, VM "vm1", no units. */
void env_upstream(struct engine_env *e);
/* Every kernel feature and VMM capability yes, allow_experimental. */
void env_everything(struct engine_env *e);

/* Host IOMMUs. */
void caps_vtd_nest(struct mdp_iommu_caps *c);   /* scalable mode on, NEST, FSTS, SSTS, CM=0, PASID 20, PRS */
void caps_vtd_legacy(struct mdp_iommu_caps *c); /* sm_off: no scalable mode, no nesting, no PASID */
void caps_smmu_full(struct mdp_iommu_caps *c);  /* S1P+S2P, SSIDSIZE 20, PRI, ATS */
void caps_smmu_s2(struct mdp_iommu_caps *c);    /* stage 2 only */
void caps_amd(struct mdp_iommu_caps *c);        /* GT, PPR, PASMAX 16, no NPCACHE */
/* Device with PASID (20 bits), ATS and PRI. */
void pci_full(struct mdp_pci_caps *p);

/* Adds a unit with a viable group and the family's IOMMU ("dmar0", "smmu3.0x...",
 * "ivhd0"); returns it for tweaks. family NONE: no IOMMU, no group (mdevs still get their
 * vfio-noiommu group). */
struct mdp_unit_input *env_add(struct engine_env *e, enum mdp_unit_kind kind, enum mdp_iommu_family family,
                               const char *id);

/* Runs the engine, asserting success. */
struct mdp_plan *env_plan(struct engine_env *e);

/* Assertions with the plan rendered as text in the failure message. */
void assert_unit(const struct mdp_plan *p, size_t i, enum mdp_strategy s, enum mdp_reason r);
void assert_vm(const struct mdp_plan *p, enum mdp_strategy s, enum mdp_reason r);
/* Some explanation line (rules or VM level) / unknown of unit i contains needle. */
void assert_explains(const struct mdp_plan *p, size_t i, const char *needle);
void assert_unknown(const struct mdp_plan *p, size_t i, const char *needle);
void assert_no_unknown(const struct mdp_plan *p, size_t i, const char *needle);
void assert_vm_explains(const struct mdp_plan *p, const char *needle);
bool plan_has_qemu(const struct mdp_plan *p, const char *needle);
