/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Engine inputs from a host snapshot (lib/plan-input.h). No I/O of its own: everything
 * comes from the snapshot the caller scanned. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-private.h"
#include "iommu-decode.h"
#include "mdp-names.h"
#include "plan-input.h"
#include "profile.h"
#include "util/macro.h"
#include "util/uuid.h"

struct mdp_plan_input {
        struct mdp_host *host;
        struct mdp_plan_request req;
        struct mdp_unit_input *units;
        size_t n_units;
        char **owned; /* strings the request points to */
        size_t n_owned, cap_owned;
        bool oom;
};

static const char *own(struct mdp_plan_input *in, char *s)
{
        if (!s) {
                in->oom = true;
                return NULL;
        }
        if (in->n_owned == in->cap_owned) {
                size_t cap = in->cap_owned ? in->cap_owned * 2 : 16;
                char **n = realloc(in->owned, cap * sizeof(*n));
                if (!n) {
                        free(s);
                        in->oom = true;
                        return NULL;
                }
                in->owned = n;
                in->cap_owned = cap;
        }
        in->owned[in->n_owned++] = s;
        return s;
}

static const char *ownf(struct mdp_plan_input *in, const char *fmt, ...) _printf_(2, 3);
static const char *ownf(struct mdp_plan_input *in, const char *fmt, ...)
{
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return own(in, r < 0 ? NULL : s);
}

_public_ struct mdp_plan_input *mdp_plan_input_free(struct mdp_plan_input *in)
{
        if (!in)
                return NULL;
        for (size_t i = 0; i < in->n_owned; i++)
                free(in->owned[i]);
        free(in->owned);
        free(in->units);
        mdp_host_unref(in->host);
        free(in);
        return NULL;
}

_public_ struct mdp_plan_request *mdp_plan_input_request(struct mdp_plan_input *in)
{
        return in ? &in->req : NULL;
}

static int fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *fmt, ...)
{
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

/* A unit id in the form the host model uses: canonical UUID or DDDD:BB:SS.F. */
static int normalize_id(const char *id, char *buf, size_t size, bool *ret_mdev)
{
        unsigned d, b, s, f;

        if (mdp_uuid_normalize(id, buf) == 0) {
                *ret_mdev = true;
                return 0;
        }
        if (engine_parse_pci_address(id, &d, &b, &s, &f)) {
                snprintf(buf, size, "%04x:%02x:%02x.%x", d, b, s, f);
                *ret_mdev = false;
                return 0;
        }
        return -EINVAL;
}

static bool is_bridge(const struct mdp_pci_device *d)
{
        return (d->class >> 8) == 0x0604; /* PCI-to-PCI bridge, incl. PCIe ports */
}

/* §6.4 step 1: every member goes to this VM, or is one VFIO lets stay behind: a bridge,
 * an unbound function, or one held by pci-stub (drivers with driver_managed_dma). */
static void group_viability(struct mdp_plan_input *in, const struct mdp_host *h, int number,
                            char (*vm_ids)[MDP_UUID_STRING_MAX], size_t n_vm, struct mdp_unit_input *u)
{
        const struct mdp_iommu_group *g;

        u->has_group = number >= 0 ? MDP_YES : MDP_NO;
        if (number < 0)
                return;
        u->group = ownf(in, "%d", number);
        g = mdp_host_find_group(h, number);
        if (!g || g->error) {
                u->group_viable = MDP_UNKNOWN;
                return;
        }
        u->group_viable = MDP_YES;
        for (size_t i = 0; i < g->n_devices; i++) {
                const char *m = g->devices[i];
                const struct mdp_pci_device *d;
                bool in_vm = false;

                for (size_t j = 0; j < n_vm && !in_vm; j++)
                        in_vm = streq(vm_ids[j], m);
                if (in_vm)
                        continue;
                d = mdp_host_find_pci_device(h, m);
                if (d && (is_bridge(d) || !d->driver || streq(d->driver, "pci-stub") ||
                          streq(d->driver, "pcieport")))
                        continue;
                u->group_viable = MDP_NO;
                u->group_blocker = m;
                return;
        }
}

static void iommu_facts(const struct mdp_host *h, const char *name, const char *cmdline,
                        struct mdp_unit_input *u)
{
        const struct mdp_iommu *i = name ? mdp_host_find_iommu(h, name) : NULL;
        struct mdp_iommu_regs regs = {.family = name ? mdp_iommu_family_from_name(name) : MDP_IOMMU_NONE};

        u->iommu_name = name;
        /* An instance the snapshot lacks still has a family from its name; its registers are
         * unknown. */
        mdp_iommu_caps_from_regs(i ? &i->regs : &regs, cmdline, &u->iommu);
}

/* A function that is not PCI has no PCI capabilities at all (a css or virtual parent). */
static void pci_caps_none(struct mdp_pci_caps *c)
{
        *c = (struct mdp_pci_caps){
                .extended_space = MDP_NO,
                .pasid = MDP_NO,
                .pasid_exec = MDP_NO,
                .pasid_priv = MDP_NO,
                .pasid_enabled = MDP_NO,
                .ats = MDP_NO,
                .ats_enabled = MDP_NO,
                .pri = MDP_NO,
                .pri_enabled = MDP_NO,
                .sriov = MDP_NO,
                .siov_dvsec = MDP_NO,
        };
}

/* A VF's PASID and PRI capabilities are its PF's (§3.3); ATS is its own. */
static void vf_caps(const struct mdp_host *h, const struct mdp_pci_device *vf, struct mdp_pci_caps *c)
{
        const struct mdp_pci_device *pf = mdp_host_find_pci_device(h, vf->physfn);

        *c = vf->caps;
        if (!pf) {
                c->pasid = c->pasid_exec = c->pasid_priv = c->pasid_enabled = MDP_UNKNOWN;
                c->pri = c->pri_enabled = MDP_UNKNOWN;
                c->pasid_width = 0;
                return;
        }
        c->pasid = pf->caps.pasid;
        c->pasid_width = pf->caps.pasid_width;
        c->pasid_exec = pf->caps.pasid_exec;
        c->pasid_priv = pf->caps.pasid_priv;
        c->pasid_enabled = pf->caps.pasid_enabled;
        c->pri = pf->caps.pri;
        c->pri_enabled = pf->caps.pri_enabled;
}

static bool parent_in(const char *parent, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(list[i], parent))
                        return true;
        return false;
}

/* §6.2 sharing for a PASID-granular parent. */
static void sharing(const struct mdp_host *h, const char *vm, const struct mdp_plan_host_context *hc,
                    struct mdp_unit_input *u)
{
        if (hc && hc->assignments_known) {
                u->parent_exclusive = MDP_YES;
                for (size_t i = 0; i < hc->n_assignments; i++) {
                        const struct mdp_assignment *a = &hc->assignments[i];
                        char uuid[MDP_UUID_STRING_MAX];
                        const struct mdp_mdev *m;

                        if (!a->unit || !a->vm || streq(a->vm, vm) || mdp_uuid_normalize(a->unit, uuid) < 0)
                                continue;
                        m = mdp_host_find_mdev(h, uuid);
                        if (m && streq_ptr(m->parent, u->parent)) {
                                u->parent_exclusive = MDP_NO;
                                u->other_vm = a->vm;
                                break;
                        }
                }
        }
        if (hc && hc->host_dma_known)
                u->host_uses_rid = mdp_tristate_from_bool(
                        parent_in(u->parent, hc->host_dma_parents, hc->n_host_dma_parents));
}

struct kernel_prior {
        enum mdp_kernel_feature f;
        unsigned major, minor;
};

/* Mainline releases (§4.2, §8): only a hint in the basis, never the fact itself. */
static const struct kernel_prior priors[] = {
        {MDP_KFEAT_NEST_PARENT, 6, 7}, {MDP_KFEAT_VTD_INVALIDATE, 6, 8}, {MDP_KFEAT_FAULT_QUEUE, 6, 11},
        {MDP_KFEAT_VIOMMU, 6, 13},     {MDP_KFEAT_PASID_ATTACH, 6, 15},  {MDP_KFEAT_VEVENTQ, 6, 15},
};

static void kernel_facts(struct mdp_plan_input *in, const struct mdp_host *h,
                         const struct mdp_plan_host_context *hc)
{
        const struct mdp_kernel_features *k = mdp_host_kernel(h);
        struct mdp_kernel_facts *f = &in->req.kernel;
        unsigned maj = 0, min = 0;
        bool have_release;
        bool any_pmdev = false;
        enum mdp_tristate pmdev = MDP_YES;
        const char *pmdev_basis = NULL;

        mdp_kernel_facts_init(f);
        if (k) {
                f->has[MDP_KFEAT_IOMMUFD] = k->iommufd;
                f->basis[MDP_KFEAT_IOMMUFD] = "/dev/iommu";
                f->has[MDP_KFEAT_VFIO_CDEV] = k->vfio_cdev;
                f->basis[MDP_KFEAT_VFIO_CDEV] = "vfio-dev char devices";
                /* Both the type1 driver and iommufd's compatibility container offer
                 * VFIO_TYPE1v2_IOMMU; /dev/vfio/vfio is the container. */
                f->has[MDP_KFEAT_TYPE1V2] = k->vfio_container;
                f->basis[MDP_KFEAT_TYPE1V2] = "/dev/vfio/vfio";
        }
        have_release = k && k->release && mdp_kernel_release_parse(k->release, &maj, &min) == 0;
        for (size_t i = 0; i < ELEMENTSOF(priors); i++) {
                const struct kernel_prior *p = &priors[i];
                if (!have_release)
                        f->basis[p->f] = "not probed";
                else if (maj > p->major || (maj == p->major && min >= p->minor))
                        f->basis[p->f] = ownf(in, "not probed; mainline has it since %u.%u, this is %s",
                                              p->major, p->minor, k->release);
                else
                        f->basis[p->f] =
                                ownf(in, "not probed; mainline added it in %u.%u, this is %s (backports?)",
                                     p->major, p->minor, k->release);
        }
        f->basis[MDP_KFEAT_AMD_NEST] = "not probed (AMD nesting: posted on 6.17, §2.3)";

        /* kernel.pmdev_path: the vendor profile of every PASID-granular unit must say the
         * kernel has the path (§1.5); mainline has none. */
        for (size_t i = 0; i < in->n_units; i++) {
                const struct mdp_unit_input *u = &in->units[i];
                const struct mdp_mdev *m;
                const struct mdp_parent *p;
                const struct mdp_profile_rule *rule;
                char basis[512];

                if (u->kind != MDP_UNIT_PMDEV)
                        continue;
                any_pmdev = true;
                m = mdp_host_find_mdev(h, u->id);
                p = m ? mdp_host_find_parent(h, m->parent) : NULL;
                rule = hc && hc->profiles && p && m
                               ? mdp_profiles_match(hc->profiles, mdp_parent_driver_string(p), m->type_id)
                               : NULL;
                if (!rule) {
                        if (pmdev == MDP_YES) {
                                pmdev = MDP_UNKNOWN;
                                pmdev_basis = ownf(in, "no vendor profile given for %s", u->id);
                        }
                        continue;
                }
                mdp_profile_rule_basis(rule, basis, sizeof(basis));
                if (!rule->kernel_path) {
                        pmdev = MDP_NO;
                        pmdev_basis = ownf(in, "%s: kernel_path false", basis);
                } else if (pmdev == MDP_YES && !pmdev_basis)
                        pmdev_basis = ownf(in, "%s: kernel_path true", basis);
        }
        if (!any_pmdev) {
                pmdev = MDP_NO;
                pmdev_basis = "no PASID-granular mdev path in mainline since 5.16 (§1.5)";
        }
        f->has[MDP_KFEAT_PMDEV_PATH] = pmdev;
        f->basis[MDP_KFEAT_PMDEV_PATH] = pmdev_basis;
}

_public_ int mdp_plan_input_scan(struct mdp_ctx *ctx, const char *const *unit_ids, size_t n_units,
                                 const struct mdp_plan_host_context *hc, struct mdp_host **ret)
{
        char(*ids)[MDP_UUID_STRING_MAX] = NULL, (*other_ids)[MDP_UUID_STRING_MAX] = NULL;
        const char **mdevs = NULL, **pci = NULL, **others = NULL;
        size_t n_mdevs = 0, n_pci = 0, n_others = 0;
        int r;

        if (!ctx || !ret || (n_units && !unit_ids))
                return -EINVAL;
        ids = calloc(n_units ? n_units : 1, sizeof(*ids));
        mdevs = calloc(n_units ? n_units : 1, sizeof(*mdevs));
        pci = calloc(n_units ? n_units : 1, sizeof(*pci));
        if (!ids || !mdevs || !pci) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n_units; i++) {
                bool mdev;

                if (!unit_ids[i] || normalize_id(unit_ids[i], ids[i], sizeof(ids[i]), &mdev) < 0)
                        continue;
                if (mdev)
                        mdevs[n_mdevs++] = ids[i];
                else
                        pci[n_pci++] = ids[i];
        }
        /* sharing() compares the parents of the mdevs other VMs hold; it skips ids that are
         * not UUIDs, and so does the scan. */
        if (hc && hc->assignments_known && hc->n_assignments) {
                others = calloc(hc->n_assignments, sizeof(*others));
                other_ids = calloc(hc->n_assignments, sizeof(*other_ids));
                if (!others || !other_ids) {
                        r = -ENOMEM;
                        goto out;
                }
                for (size_t i = 0; i < hc->n_assignments; i++)
                        if (hc->assignments[i].unit &&
                            mdp_uuid_normalize(hc->assignments[i].unit, other_ids[n_others]) == 0) {
                                others[n_others] = other_ids[n_others];
                                n_others++;
                        }
        }
        r = mdp_host_scan_units(ctx, mdevs, n_mdevs, pci, n_pci, others, n_others, ret);
out:
        free(ids);
        free(other_ids);
        free(mdevs);
        free(pci);
        free(others);
        return r;
}

_public_ int mdp_plan_input_new(struct mdp_host *host, const char *vm, const char *const *unit_ids,
                                size_t n_units, const struct mdp_plan_host_context *hc,
                                struct mdp_plan_input **ret, char **ret_error)
{
        _cleanup_(mdp_plan_input_freep) struct mdp_plan_input *in = NULL;
        const struct mdp_kernel_features *k;
        char(*ids)[MDP_UUID_STRING_MAX] = NULL;
        const char *cmdline;
        bool *mdev = NULL;
        int r = 0;

        if (!host || isempty(vm) || !ret || (n_units && !unit_ids))
                return fail(ret_error, -EINVAL, "a plan needs a host snapshot, a VM name and units");
        k = mdp_host_kernel(host);
        cmdline = k ? k->cmdline : NULL;

        in = calloc(1, sizeof(*in));
        ids = calloc(n_units ? n_units : 1, sizeof(*ids));
        mdev = calloc(n_units ? n_units : 1, sizeof(*mdev));
        if (!in || !ids || !mdev) {
                r = -ENOMEM;
                goto out;
        }
        in->host = mdp_host_ref(host);
        in->units = calloc(n_units ? n_units : 1, sizeof(*in->units));
        if (!in->units) {
                r = -ENOMEM;
                goto out;
        }
        in->n_units = n_units;

        /* First every id, so group viability can see all of the VM's units. */
        for (size_t i = 0; i < n_units; i++) {
                if (!unit_ids[i] || normalize_id(unit_ids[i], ids[i], sizeof(ids[i]), &mdev[i]) < 0) {
                        r = fail(ret_error, -EINVAL,
                                 "unit %s: neither an mdev UUID nor a PCI address (such as 0000:01:00.1)",
                                 strna(unit_ids[i]));
                        goto out;
                }
                for (size_t j = 0; j < i; j++)
                        if (streq(ids[i], ids[j])) {
                                r = fail(ret_error, -EINVAL, "unit %s is listed twice", ids[i]);
                                goto out;
                        }
        }

        for (size_t i = 0; i < n_units; i++) {
                struct mdp_unit_input *u = &in->units[i];

                mdp_unit_input_init(u);
                if (mdev[i]) {
                        const struct mdp_mdev *m = mdp_host_find_mdev(host, ids[i]);
                        const struct mdp_parent *p;
                        const struct mdp_type *t;

                        if (!m) {
                                r = fail(ret_error, -ENOENT,
                                         "unit %s: no mdev with this UUID on this host "
                                         "(/sys/bus/mdev/devices); "
                                         "create or start it first",
                                         ids[i]);
                                goto out;
                        }
                        p = mdp_host_find_parent(host, m->parent);
                        t = p && m->type_id ? mdp_parent_find_type(p, m->type_id) : NULL;
                        u->id = m->uuid;
                        u->kind = m->class == MDP_MDEV_PASID_GRANULAR ? MDP_UNIT_PMDEV : MDP_UNIT_EMDEV;
                        u->parent = m->parent;
                        u->device_api = t ? t->device_api : NULL;
                        iommu_facts(host, p ? p->iommu : NULL, cmdline, u);
                        if (p && p->pci_address) {
                                const struct mdp_pci_device *d =
                                        mdp_host_find_pci_device(host, p->pci_address);
                                if (d)
                                        u->pci = d->caps;
                        } else if (p)
                                pci_caps_none(&u->pci);
                        group_viability(in, host, m->iommu_group, ids, n_units, u);
                        u->parent_bound = p ? mdp_tristate_from_bool(p->driver != NULL) : MDP_UNKNOWN;
                        if (u->kind == MDP_UNIT_PMDEV)
                                sharing(host, vm, hc, u);
                } else {
                        const struct mdp_pci_device *d = mdp_host_find_pci_device(host, ids[i]);

                        if (!d) {
                                r = fail(ret_error, -ENOENT,
                                         "unit %s: no PCI function with this address on this host "
                                         "(/sys/bus/pci/devices)",
                                         ids[i]);
                                goto out;
                        }
                        u->id = d->address;
                        u->kind = d->physfn ? MDP_UNIT_VF : MDP_UNIT_PF;
                        u->device_api = "vfio-pci";
                        iommu_facts(host, d->iommu, cmdline, u);
                        if (d->physfn)
                                vf_caps(host, d, &u->pci);
                        else
                                u->pci = d->caps;
                        group_viability(in, host, d->iommu_group, ids, n_units, u);
                }
        }

        mdp_plan_request_init(&in->req);
        in->req.vm = own(in, strdup(vm));
        in->req.units = in->units;
        in->req.n_units = in->n_units;
        kernel_facts(in, host, hc);
        if (in->oom) {
                r = -ENOMEM;
                goto out;
        }
        *ret = TAKE_PTR(in);
out:
        free(ids);
        free(mdev);
        return r;
}
