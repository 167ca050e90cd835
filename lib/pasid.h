/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One PASID-granular parent's PASID space (issue 5): which PASIDs are handed out, to
 * instances (their PASID at start) and to guests (+pv strategies, AllocatePasids).
 *
 * Bounds (IOMMU-SPEC.md §3.3): the usable width is min(device Max PASID Width, IOMMU width)
 * with the IOMMU width VT-d PSS+1, SMMUv3 SSIDSIZE, AMD PASMAX+1 capped at 16 (§2.2-§2.4);
 * the space is [0, 2^width). Never handed out: PASID 0 on VT-d (RID_PASID: the requests
 * without a PASID, §2.2) and every reserved range (policy, vendor profile).
 *
 * Structure: a bitmap with summary levels. Level 0 has one bit per PASID (1 = taken or
 * reserved); a bit of level k+1 says its 64-bit word of level k is full. A 20-bit space has
 * four levels (16384, 256, 4, 1 words): allocate, free and look-up touch one word per
 * level, O(log64 n), whatever the number of live allocations. Allocation is next-fit from a
 * cursor (the PASID after the last one handed out, wrapping), so a just-freed PASID is not
 * handed out again at once: a late DMA tagged with it cannot hit its next owner.
 *
 * The space knows PASIDs, not owners: the daemon records who holds what (state.json) and
 * restores it with mdp_pasid_take() at start, so a restart never hands out a live PASID. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "types.h"
#include "util/macro.h"

#define MDP_PASID_WIDTH_MAX 20 /* PCIe Max PASID Width */

struct mdp_pasid_space;

/* device_width / iommu_width: bits, 0 = unknown (the other one alone bounds the space; both
 * unknown is -EINVAL: nobody knows how many PASIDs there are). family MDP_IOMMU_VTD reserves
 * PASID 0. reserved: ranges never handed out (clipped to the space). quota: how many PASIDs
 * may be taken at once (MDP_QUOTA_UNLIMITED from policy.h, or UINT32_MAX). */
int mdp_pasid_space_new(unsigned device_width, unsigned iommu_width, enum mdp_iommu_family family,
                        const struct mdp_pasid_range *reserved, size_t n_reserved, uint32_t quota,
                        struct mdp_pasid_space **ret);
struct mdp_pasid_space *mdp_pasid_space_free(struct mdp_pasid_space *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_pasid_space *, mdp_pasid_space_free)

unsigned mdp_pasid_space_width(const struct mdp_pasid_space *s);      /* bits */
uint32_t mdp_pasid_space_size(const struct mdp_pasid_space *s);       /* 2^width */
uint32_t mdp_pasid_space_used(const struct mdp_pasid_space *s);       /* taken (reserved not counted) */
uint32_t mdp_pasid_space_free_count(const struct mdp_pasid_space *s); /* takeable now, quota applied */
uint32_t mdp_pasid_space_quota(const struct mdp_pasid_space *s);
/* The quota can change on reload; lowering it below the used count keeps what is taken. */
void mdp_pasid_space_set_quota(struct mdp_pasid_space *s, uint32_t quota);

/* Hands out one PASID. -ENOSPC when the space is full, -EDQUOT when the quota is reached. */
int mdp_pasid_alloc(struct mdp_pasid_space *s, uint32_t *ret);
/* Takes a given PASID (restore at start; a vendor attribute's PASID). -ERANGE outside the
 * space, -EPERM reserved, -EEXIST already taken. The quota is not applied: what the device
 * already uses is a fact, not a request. */
int mdp_pasid_take(struct mdp_pasid_space *s, uint32_t pasid);
/* Gives one back. -ERANGE outside, -EPERM reserved, -ENOENT not taken (a double free). */
int mdp_pasid_release(struct mdp_pasid_space *s, uint32_t pasid);
/* 1 taken, 0 free, -ERANGE outside, -EPERM reserved. */
int mdp_pasid_is_taken(const struct mdp_pasid_space *s, uint32_t pasid);
