/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* From the host model to the strategy engine (IOMMU-SPEC.md §6.2): the facts a host snapshot
 * shows about a VM's units, as a struct mdp_plan_request. Per unit: the kind (an mdev's class
 * from the host model: emulated or PASID-granular; a PCI function is a VF when it has a
 * physfn link, else a PF), its IOMMU (the parent's for mdevs) decoded with
 * mdp_iommu_caps_from_regs(), its PCI capabilities (a VF's PASID and PRI are its PF's,
 * §3.3; an mdev's are its parent's), its IOMMU group and whether every member can go to this
 * VM (§6.4 step 1), and the sharing facts for PASID-granular parents. Kernel features come
 * from the host model's file-system probes; what needs an ioctl probe is left unknown and
 * says what the kernel version suggests (§6.2: probe results beat version numbers).
 *
 * The caller then sets the guest mode, options (policy) and policy files on the request,
 * and may refine facts only it knows (guest topology: behind_pci_bridge; probe results). */

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "host.h"

struct mdp_profiles;

/* A unit another VM holds (the daemon's assignment DB). */
struct mdp_assignment {
        const char *unit; /* mdev UUID or PCI address */
        const char *vm;
};

/* What the host model cannot see. Each list has a *_known flag: false means nobody knows
 * (a CLI without the daemon), and the facts it would decide stay unknown. */
struct mdp_plan_host_context {
        const struct mdp_assignment *assignments;
        size_t n_assignments;
        bool assignments_known;
        /* parents whose host driver does DMA with the parent's own RID (§6.4 step 9) */
        const char *const *host_dma_parents;
        size_t n_host_dma_parents;
        bool host_dma_known;
        /* vendor profiles: a PASID-granular type's kernel_path is kernel.pmdev_path (§1.5) */
        const struct mdp_profiles *profiles;
};

struct mdp_plan_input;

/* Resolves unit_ids (mdev UUIDs in any case, PCI addresses with or without the domain) on
 * the snapshot, which needs the mdevs, parents, groups, IOMMUs, PCI functions and kernel
 * features (MDP_SCAN_ALL; without MDP_SCAN_PCI_CONFIG the PCI capabilities are unknown).
 * hc may be NULL (nothing known). Errors, with one sentence in *ret_error naming the unit and
 * the fix: -EINVAL for an id that is neither a UUID nor a PCI address, or listed twice;
 * -ENOENT for a unit the host does not have; -ENOMEM. The input keeps a reference on the
 * snapshot: strings in the request point into it. */
int mdp_plan_input_new(struct mdp_host *host, const char *vm, const char *const *unit_ids, size_t n_units,
                       const struct mdp_plan_host_context *hc, struct mdp_plan_input **ret,
                       char **ret_error);
/* The snapshot mdp_plan_input_new() needs for these units and nothing more
 * (mdp_host_scan_units()): a plan then costs the same on a host of 10 mdevs and of 10,000.
 * The input built from it is the one a full mdp_host_scan() gives. Ids that are neither a
 * UUID nor a PCI address are skipped here: mdp_plan_input_new() names them. */
int mdp_plan_input_scan(struct mdp_ctx *ctx, const char *const *unit_ids, size_t n_units,
                        const struct mdp_plan_host_context *hc, struct mdp_host **ret);
struct mdp_plan_input *mdp_plan_input_free(struct mdp_plan_input *in);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_plan_input *, mdp_plan_input_free)

/* The request: guest mode G0, options mdp_engine_options_init(); the caller fills the rest.
 * Valid as long as the input. */
struct mdp_plan_request *mdp_plan_input_request(struct mdp_plan_input *in);
