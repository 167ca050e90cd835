/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine-test.h"
#include "util/macro.h"

static const enum mdp_kernel_feature upstream_kernel[] = {
        MDP_KFEAT_IOMMUFD,      MDP_KFEAT_VFIO_CDEV,      MDP_KFEAT_TYPE1V2,
        MDP_KFEAT_NEST_PARENT,  MDP_KFEAT_VTD_INVALIDATE, MDP_KFEAT_VIOMMU,
        MDP_KFEAT_PASID_ATTACH, MDP_KFEAT_FAULT_QUEUE,    MDP_KFEAT_VEVENTQ,
};
static const enum mdp_vmm_cap upstream_vmm[] = {
        MDP_VMM_IOMMUFD,
        MDP_VMM_INTEL_IOMMU_CACHING_MODE,
        MDP_VMM_INTEL_IOMMU_X_SCALABLE_MODE,
        MDP_VMM_INTEL_IOMMU_X_FLTS,
        MDP_VMM_INTEL_IOMMU_X_PASID_MODE,
        MDP_VMM_SMMUV3_ACCEL,
        MDP_VMM_SMMUV3_SSIDSIZE,
        MDP_VMM_VIRTIO_IOMMU,
        MDP_VMM_VFIO_PCI_X_VPASID_CAP_OFFSET,
};

void env_upstream(struct engine_env *e)
{
        memset(e, 0, sizeof(*e));
        mdp_plan_request_init(&e->req);
        e->req.vm = "vm1";
        e->req.units = e->units;
        for (size_t i = 0; i < _MDP_KERNEL_FEATURE_MAX; i++)
                e->req.kernel.has[i] = MDP_NO;
        for (size_t i = 0; i < ELEMENTSOF(upstream_kernel); i++)
                e->req.kernel.has[upstream_kernel[i]] = MDP_YES;
        for (size_t i = 0; i < _MDP_VMM_CAP_MAX; i++)
                e->req.options.vmm[i] = MDP_NO;
        for (size_t i = 0; i < ELEMENTSOF(upstream_vmm); i++)
                e->req.options.vmm[upstream_vmm[i]] = MDP_YES;
}

void env_everything(struct engine_env *e)
{
        env_upstream(e);
        for (size_t i = 0; i < _MDP_KERNEL_FEATURE_MAX; i++)
                e->req.kernel.has[i] = MDP_YES;
        for (size_t i = 0; i < _MDP_VMM_CAP_MAX; i++)
                e->req.options.vmm[i] = MDP_YES;
        e->req.options.allow_experimental = true;
}

static void caps_none(struct mdp_iommu_caps *c, enum mdp_iommu_family f)
{
        struct mdp_unit_input u;

        mdp_unit_input_init(&u);
        *c = u.iommu;
        c->family = f;
}

void caps_vtd_nest(struct mdp_iommu_caps *c)
{
        caps_none(c, MDP_IOMMU_VTD);
        c->sm_hw = c->sm_on = c->nest_hw = c->fsts = c->ssts = MDP_YES;
        c->sm_on_source = "intel_iommu=sm_on";
        c->prs = c->srs = c->ers = MDP_YES;
        c->caching_mode = MDP_NO;
        c->fl1gp = MDP_YES;
        c->mgaw = 48;
        c->pasid = MDP_YES;
        c->pasid_width = 20;
        c->nest = c->iopf = MDP_YES;
}

void caps_vtd_legacy(struct mdp_iommu_caps *c)
{
        caps_none(c, MDP_IOMMU_VTD);
        c->sm_hw = MDP_YES;
        c->sm_on = MDP_NO;
        c->sm_on_source = "intel_iommu=sm_off";
        c->nest_hw = c->fsts = c->ssts = MDP_YES;
        c->prs = MDP_YES;
        c->caching_mode = MDP_NO;
        c->fl1gp = MDP_YES;
        c->mgaw = 48;
        c->pasid = MDP_NO;
        c->nest = MDP_NO;
        c->iopf = MDP_NO;
}

void caps_smmu_full(struct mdp_iommu_caps *c)
{
        caps_none(c, MDP_IOMMU_SMMUV3);
        c->s1p = c->s2p = c->pri = c->ats = c->stall = MDP_YES;
        c->pasid = MDP_YES;
        c->pasid_width = 20;
        c->nest = c->iopf = MDP_YES;
}

void caps_smmu_s2(struct mdp_iommu_caps *c)
{
        caps_none(c, MDP_IOMMU_SMMUV3);
        c->s1p = MDP_NO;
        c->s2p = MDP_YES;
        c->pri = c->ats = MDP_YES;
        c->stall = MDP_NO;
        c->pasid = MDP_NO;
        c->nest = MDP_NO;
        c->iopf = MDP_YES;
}

void caps_amd(struct mdp_iommu_caps *c)
{
        caps_none(c, MDP_IOMMU_AMD);
        c->gt = c->ppr = c->giosup = MDP_YES;
        c->np_cache = MDP_NO;
        c->pasid = MDP_YES;
        c->pasid_width = 16;
        c->nest = MDP_UNKNOWN; /* needs the iommufd probe (§2.3) */
        c->iopf = MDP_YES;
}

void pci_full(struct mdp_pci_caps *p)
{
        struct mdp_unit_input u;

        mdp_unit_input_init(&u);
        *p = u.pci;
        p->extended_space = MDP_YES;
        p->pasid = p->pasid_exec = p->pasid_priv = MDP_YES;
        p->pasid_enabled = MDP_NO;
        p->pasid_width = 20;
        p->ats = p->pri = MDP_YES;
        p->ats_enabled = p->pri_enabled = MDP_NO;
        p->sriov = MDP_NO;
        p->siov_dvsec = MDP_NO;
}

struct mdp_unit_input *env_add(struct engine_env *e, enum mdp_unit_kind kind, enum mdp_iommu_family family,
                               const char *id)
{
        struct mdp_unit_input *u;
        bool mdev = kind == MDP_UNIT_EMDEV || kind == MDP_UNIT_PMDEV;

        ck_assert_uint_lt(e->req.n_units, ENV_MAX_UNITS);
        u = &e->units[e->req.n_units++];
        mdp_unit_input_init(u);
        u->id = id;
        u->kind = kind;
        pci_full(&u->pci);
        switch (family) {
        case MDP_IOMMU_VTD:
                caps_vtd_nest(&u->iommu);
                u->iommu_name = "dmar0";
                break;
        case MDP_IOMMU_SMMUV3:
                caps_smmu_full(&u->iommu);
                u->iommu_name = "smmu3.0x0000000009050000";
                break;
        case MDP_IOMMU_AMD:
                caps_amd(&u->iommu);
                u->iommu_name = "ivhd0";
                break;
        case MDP_IOMMU_OTHER:
                caps_none(&u->iommu, MDP_IOMMU_OTHER);
                u->iommu_name = "ipmmu0";
                break;
        default:
                caps_none(&u->iommu, MDP_IOMMU_NONE);
                break;
        }
        if (mdev) {
                u->parent = "0000:00:02.0";
                u->device_api = "vfio-pci";
        }
        u->has_group = family != MDP_IOMMU_NONE || mdev ? MDP_YES : MDP_NO;
        u->group = "12";
        u->group_viable = u->has_group;
        u->behind_pci_bridge = MDP_NO;
        if (kind == MDP_UNIT_PMDEV) {
                u->parent_bound = MDP_YES;
                u->parent_exclusive = MDP_YES;
                u->host_uses_rid = MDP_NO;
        }
        return u;
}

static char *text_of(const struct mdp_plan *p)
{
        char *t = NULL;

        ck_assert_int_eq(mdp_plan_format_text(p, &t), 0);
        return t;
}

struct mdp_plan *env_plan(struct engine_env *e)
{
        struct mdp_plan *p = NULL;
        char err[256] = "";

        ck_assert_msg(mdp_plan_request_validate(&e->req, err, sizeof(err)) == 0, "invalid request: %s", err);
        ck_assert_int_eq(mdp_engine_plan(&e->req, &p), 0);
        ck_assert_ptr_nonnull(p);
        return p;
}

void assert_unit(const struct mdp_plan *p, size_t i, enum mdp_strategy s, enum mdp_reason r)
{
        ck_assert_uint_lt(i, p->n_units);
        if (p->units[i].strategy != s || p->units[i].reason != r) {
                _cleanup_free_ char *t = text_of(p);
                ck_abort_msg("unit %s: expected %s/%s, got %s/%s\n%s", p->units[i].unit,
                             mdp_strategy_to_string(s), mdp_reason_to_string(r),
                             mdp_strategy_to_string(p->units[i].strategy),
                             mdp_reason_to_string(p->units[i].reason), t);
        }
}

void assert_vm(const struct mdp_plan *p, enum mdp_strategy s, enum mdp_reason r)
{
        if (p->strategy != s || p->reason != r) {
                _cleanup_free_ char *t = text_of(p);
                ck_abort_msg("VM: expected %s/%s, got %s/%s\n%s", mdp_strategy_to_string(s),
                             mdp_reason_to_string(r), mdp_strategy_to_string(p->strategy),
                             mdp_reason_to_string(p->reason), t);
        }
}

static bool list_has(const char *const *v, size_t n, const char *needle)
{
        for (size_t i = 0; i < n; i++)
                if (strstr(v[i], needle))
                        return true;
        return false;
}

void assert_explains(const struct mdp_plan *p, size_t i, const char *needle)
{
        ck_assert_uint_lt(i, p->n_units);
        if (!list_has(p->units[i].explanation, p->units[i].n_explanation, needle)) {
                _cleanup_free_ char *t = text_of(p);
                ck_abort_msg("unit %s: no explanation line contains \"%s\"\n%s", p->units[i].unit, needle,
                             t);
        }
}

void assert_unknown(const struct mdp_plan *p, size_t i, const char *needle)
{
        ck_assert_uint_lt(i, p->n_units);
        if (!list_has(p->units[i].unknowns, p->units[i].n_unknowns, needle)) {
                _cleanup_free_ char *t = text_of(p);
                ck_abort_msg("unit %s: no unknown contains \"%s\"\n%s", p->units[i].unit, needle, t);
        }
}

void assert_no_unknown(const struct mdp_plan *p, size_t i, const char *needle)
{
        ck_assert_uint_lt(i, p->n_units);
        if (list_has(p->units[i].unknowns, p->units[i].n_unknowns, needle)) {
                _cleanup_free_ char *t = text_of(p);
                ck_abort_msg("unit %s: an unknown contains \"%s\"\n%s", p->units[i].unit, needle, t);
        }
}

void assert_vm_explains(const struct mdp_plan *p, const char *needle)
{
        if (!list_has(p->explanation, p->n_explanation, needle)) {
                _cleanup_free_ char *t = text_of(p);
                ck_abort_msg("no VM explanation line contains \"%s\"\n%s", needle, t);
        }
}

bool plan_has_qemu(const struct mdp_plan *p, const char *needle)
{
        return list_has(p->qemu, p->n_qemu, needle);
}
